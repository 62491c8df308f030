// catenary in the browser: verify proof bundles, run WASM workflows (docs/browser.md).
export { blake2b256 } from './blake2b.js'
export { CID, Float, block, cidOf, decode, encode } from './cid.js'
export { checkAttestation } from './attest.js'
export { capMemory, compile, invoke, MEMORY_CAP } from './wasm.js'
export { verifyBundle, readCar, overall, UnreadableBundle, hashData, keyData } from './verify.js'
export { Workflow, WorkflowError } from './run.js'
export { workerInvoker, finishCall, abiCall, TIME_LIMIT_MS } from './wasm.js'
export { NOT_RE_EXECUTED, VERIFIED, MISMATCH, UNVERIFIABLE, FORMAT } from './verify.js'
