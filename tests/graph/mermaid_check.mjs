// Parse each file named on the command line with the real Mermaid parser; print `OK <type>` or the error.
// jsdom provides the DOM Mermaid's sanitizer needs; nothing is rendered.
import fs from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
globalThis.Element = dom.window.Element;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const result = await mermaid.parse(fs.readFileSync(file, "utf8"));
    console.log(`OK ${result.diagramType} ${file}`);
  } catch (err) {
    failed += 1;
    console.log(`ERROR ${file}: ${String(err.message || err).split("\n").join(" | ")}`);
  }
}
process.exit(failed ? 1 : 0);
