#!/usr/bin/env node
// Writes tests/fixtures/tokenizers/<name>.expected.json: the token ids of every case of
// tests/fixtures/tokenizers/sample.txt as an independent implementation, Hugging Face's
// tokenizers.js (@huggingface/tokenizers, pinned in scripts/tokenizer-fixtures/), encodes them
// with add_special_tokens false, and its decoding of those ids. Run once by hand after
// scripts/fetch_tokenizers.sh; the C++ tests compare against the committed output.
//
//   node scripts/make_tokenizer_fixtures.mjs [TOKENIZERS_DIR]   (default: build/third_party/tokenizers)
//
// The pinned package is installed with `npm ci` into build/tokenizer-fixtures (git-ignored).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tokenizersDir = path.resolve(process.argv[2] ?? path.join(root, "build/third_party/tokenizers"));
const fixturesDir = path.join(root, "tests/fixtures/tokenizers");
const names = ["llama3", "llama3_1", "qwen2_5", "qwen3", "llama2"];

function fail(message) {
    console.error(`make_tokenizer_fixtures.mjs: ${message}`);
    process.exit(1);
}

async function loadTokenizersJs() {
    const prefix = path.join(root, "build/tokenizer-fixtures");
    const pinned = path.join(root, "scripts/tokenizer-fixtures");
    fs.mkdirSync(prefix, { recursive: true });
    for (const f of ["package.json", "package-lock.json"]) fs.copyFileSync(path.join(pinned, f), path.join(prefix, f));
    if (!fs.existsSync(path.join(prefix, "node_modules/@huggingface/tokenizers/package.json")))
        execFileSync("npm", ["ci", "--silent", "--no-audit", "--no-fund"], { cwd: prefix, stdio: "inherit" });
    const pkgDir = path.join(prefix, "node_modules/@huggingface/tokenizers");
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
    const entry = path.join(pkgDir, pkg.module);
    return { module: await import(pathToFileURL(entry).href), version: pkg.version };
}

// Cases: a line "##### case: NAME" starts one; its text runs to the next such line, less the
// newline that ends its last line. Lines before the first case are comments.
function readCases(file) {
    const text = fs.readFileSync(file, "utf8");
    const marker = /^##### case: (.*)\n/gm;
    const starts = [...text.matchAll(marker)];
    if (starts.length === 0) fail(`${file}: no '##### case:' lines`);
    return starts.map((m, i) => {
        const begin = m.index + m[0].length;
        const end = i + 1 < starts.length ? starts[i + 1].index : text.length;
        let body = text.slice(begin, end);
        if (!body.endsWith("\n")) fail(`${file}: case '${m[1]}' does not end with a newline`);
        return { name: m[1], text: body.slice(0, -1) };
    });
}

const { module: tokenizersJs, version } = await loadTokenizersJs();
const cases = readCases(path.join(fixturesDir, "sample.txt"));
for (const name of names) {
    const dir = path.join(tokenizersDir, name);
    const jsonFile = path.join(dir, "tokenizer.json");
    if (!fs.existsSync(jsonFile)) fail(`${jsonFile}: missing (run scripts/fetch_tokenizers.sh first)`);
    const tokenizer = new tokenizersJs.Tokenizer(JSON.parse(fs.readFileSync(jsonFile, "utf8")),
                                                 JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")));
    const out = cases.map(({ name: caseName, text }) => {
        const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
        const decoded = ids.length === 0 ? "" // tokenizers.js refuses to decode an empty list
            : tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
        return { name: caseName, text, ids, decoded, roundTrips: decoded === text };
    });
    const doc = {
        tokenizer: name,
        generator: `@huggingface/tokenizers@${version} via scripts/make_tokenizer_fixtures.mjs`,
        // What add_special_tokens true adds (the post-processor), for the BOS checks.
        helloWithSpecialTokens: tokenizer.encode("Hello", { add_special_tokens: true }).ids,
        hello: tokenizer.encode("Hello", { add_special_tokens: false }).ids,
        cases: out,
    };
    const file = path.join(fixturesDir, `${name}.expected.json`);
    // One line per case keeps the diff of a regenerated fixture readable.
    const head = Object.entries(doc).filter(([k]) => k !== "cases").map(([k, v]) => ` ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
    const body = doc.cases.map((c) => `  ${JSON.stringify(c)}`).join(",\n");
    fs.writeFileSync(file, `{\n${head.join("\n")}\n "cases": [\n${body}\n ]\n}\n`);
    console.log(`${file}: ${out.length} cases, ${out.filter((c) => c.roundTrips).length} round-trip`);
}
