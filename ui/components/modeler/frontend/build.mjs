// Builds the two editor components into ../dist/{bpmn,dmn}/: index.html, one JS bundle, one
// CSS file and its fonts each, plus the licences of everything bundled. Nothing is fetched at
// run time: the build fails when a stylesheet points outside the component folder.
import * as esbuild from 'esbuild';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '..', 'dist');

const TITLES = { bpmn: 'BPMN modeler', dmn: 'DMN editor' };

function indexHtml(mode) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLES[mode]}</title>
<link rel="stylesheet" href="${mode}.css">
</head>
<body>
<div id="app"></div>
<script src="${mode}.js"></script>
</body>
</html>
`;
}

/** url(...) and @import targets that are neither inline data nor files beside the CSS. */
function externalReferences(css) {
  const found = [];
  for (const match of css.matchAll(/url\(\s*(['"]?)([^'")]*)\1\s*\)/g)) {
    const target = match[2].trim();
    if (!target.startsWith('data:') && !target.startsWith('#') && /^([a-z][a-z0-9+.-]*:|\/\/|\/)/i.test(target)) {
      found.push(target);
    }
  }
  for (const match of css.matchAll(/@import\s+([^;]+);/g)) {
    found.push(match[1]);
  }
  return found;
}

async function licences(metafile) {
  const packages = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (match) {
      packages.set(match[1], path.join(here, 'node_modules', match[1]));
    }
  }
  const parts = [];
  for (const [name, folder] of [...packages].sort()) {
    const files = (await fs.readdir(folder)).filter((file) => /^(licen[cs]e|copying)/i.test(file));
    const pkg = JSON.parse(await fs.readFile(path.join(folder, 'package.json'), 'utf8'));
    let text = `${name}@${pkg.version} (${pkg.license || 'see package'})\n`;
    for (const file of files) {
      text += '\n' + (await fs.readFile(path.join(folder, file), 'utf8')).trim() + '\n';
    }
    parts.push(text);
  }
  return parts.join('\n' + '-'.repeat(78) + '\n\n');
}

async function build(mode) {
  const outdir = path.join(dist, mode);
  const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: { [mode]: `src/${mode}.js` },
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    outdir,
    loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
    assetNames: 'fonts/[name]-[hash]',
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  await fs.writeFile(path.join(outdir, 'index.html'), indexHtml(mode));
  await fs.writeFile(path.join(outdir, 'THIRD-PARTY-LICENSES.txt'), await licences(result.metafile));
  const css = await fs.readFile(path.join(outdir, `${mode}.css`), 'utf8');
  const external = externalReferences(css);
  if (external.length) {
    throw new Error(`${mode}.css references resources outside the component: ${external.join(', ')}`);
  }
  const sizes = {};
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    sizes[path.relative(dist, path.resolve(here, file))] = info.bytes;
  }
  return sizes;
}

const started = Date.now();
await fs.rm(dist, { recursive: true, force: true });
const sizes = Object.assign({}, ...(await Promise.all(['bpmn', 'dmn'].map(build))));
for (const [file, bytes] of Object.entries(sizes).sort()) {
  console.log(`${file.padEnd(44)} ${(bytes / 1024).toFixed(1).padStart(8)} KB`);
}
console.log(`built ${path.relative(process.cwd(), dist) || dist} in ${Date.now() - started} ms`);
