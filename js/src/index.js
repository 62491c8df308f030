// catenary in the browser: verify proof bundles, run WASM workflows (docs/browser.md).
export { blake2b256 } from './blake2b.js'
export { CID, Float, block, cidOf, decode, encode } from './cid.js'
export { checkAttestation } from './attest.js'
export { capMemory, compile, invoke, MEMORY_CAP } from './wasm.js'
export { verifyBundle, readCar, overall, UnreadableBundle, hashData, keyData } from './verify.js'
