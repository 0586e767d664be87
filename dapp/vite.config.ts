import { defineConfig } from "vite";

export default defineConfig({
  base: "./", // any static host, any path
  build: { target: "es2022", reportCompressedSize: true, chunkSizeWarningLimit: 600 },
});
