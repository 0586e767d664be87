// The production bundle's JavaScript, raw and gzipped (the aim: < 400 kB gzipped).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dir = join("dist", "assets");
let raw = 0;
let gz = 0;
for (const f of readdirSync(dir).filter((f) => f.endsWith(".js"))) {
  const b = readFileSync(join(dir, f));
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`bundle: ${kb(raw)} kB of JavaScript, ${kb(gz)} kB gzipped (aim: < 400 kB gzipped)`);
if (gz > 400 * 1024) process.exit(1);
