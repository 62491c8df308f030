// Builds the two files the repository ships from src/ (run by `make js`):
//   catenary/web/static/catenary-browser.mjs  an ES module, for `catenary workflow build`
//   catenary/web/static/catenary-browser.js   one classic script for the verify page. A page
//     opened from a file cannot load ES modules or worker scripts from files in Chromium,
//     so the script keeps its own source (catenary.workerSource) to start workers from Blob URLs.
import * as esbuild from 'esbuild'
import { writeFileSync } from 'node:fs'

const here = new URL('.', import.meta.url).pathname
const out = process.argv[2] ? `${process.argv[2]}/` : `${here}../catenary/web/static/`
const common = { entryPoints: [`${here}src/index.js`], bundle: true, minify: true, write: false, target: 'es2022', platform: 'browser', legalComments: 'none' }
const banner = '// catenary-browser: built from js/src by `make js`; do not edit.\n'

const esm = await esbuild.build({ ...common, format: 'esm' })
writeFileSync(`${out}catenary-browser.mjs`, banner + esm.outputFiles[0].text)

const iife = await esbuild.build({ ...common, format: 'iife', globalName: 'catenary' })
const body = iife.outputFiles[0].text
writeFileSync(`${out}catenary-browser.js`, `${banner}(function factory(){${body};catenary.workerSource='('+factory.toString()+')()';globalThis.catenary=catenary})();\n`)
console.log(`catenary-browser: ${esm.outputFiles[0].text.length} bytes (ESM, minified), ${body.length} bytes (classic)`)
