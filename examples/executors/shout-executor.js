#!/usr/bin/env node
// A catenary remote executor in Node.js, on @grpc/grpc-js and the .proto files alone (no catenary
// code): it performs the remote operation example/shout (shout.json) for a served node.
//
//   catenary op register-remote examples/executors/shout.json      # once, on the node's data dir
//   node examples/executors/shout-executor.js --node 127.0.0.1:50051 [--dir DIR] [--lease SECONDS]
//       [--queue NAME] [--count N] [--hold FILE]
//
// The executor is a party of its own (docs/trust.md): its ed25519 key is DIR/executor_key.pem
// (PKCS#8 PEM, mode 0600, created on first start; default ./shout-executor), its did:key is its
// id in the records, every call carries a JWS token it signs for the node and the method, and
// each completed report carries its signed attestation {execution, key, output, signer}.
//
// The protocol (docs/api.md, "Task queues"): ask the node for work with Queue.Claim(queue,
// operations=[<version id>], lease_seconds, wait_seconds) (it waits at the node until work appears,
// and hands each execution to one executor), renew the lease while working with
// Update(IN_PROGRESS, lease_seconds), fetch the inputs with Value.Get, report Update(COMPLETED,
// output) or Update(FAILED, error). A renewal or report after the lease lapsed is refused
// (FAILED_PRECONDITION, saying who holds the execution now): the result is dropped ("lost") and
// the executor goes on claiming. --hold FILE waits while FILE exists before reporting (a slow
// operation, for tests and demos).
'use strict';
const path = require('path');
// `make test` installs @grpc/grpc-js and @grpc/proto-loader under the repository's .tools/.
module.paths.push(path.resolve(__dirname, '..', '..', '.tools', 'node_modules'));
const crypto = require('crypto');
const fs = require('fs');
const { pathToFileURL } = require('url');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const args = {
  node: '127.0.0.1:50051', name: 'example/shout', dir: 'shout-executor', lease: 30, queue: 'default', count: 0, hold: '',
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, '');
  if (!(key in args) || argv[i + 1] === undefined) {
    console.error('usage: shout-executor.js [--node HOST:PORT] [--name OP] [--dir DIR] [--lease SECONDS] ' +
      `[--queue NAME] [--count N] [--hold FILE] (bad: ${argv[i]})`);
    process.exit(2);
  }
  args[key] = typeof args[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
}

const definition = protoLoader.loadSync(['api/execution.proto', 'api/operation.proto', 'api/value.proto', 'api/queue.proto'], {
  includeDirs: [path.resolve(__dirname, '..', '..', 'protobuf')],
  keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true,
});
const api = grpc.loadPackageDefinition(definition).catenary.api.v1;

// The key, created race-safely (exclusive create) on first start.
function loadKey(dir) {
  const file = path.join(dir, 'executor_key.pem');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    try {
      fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
  }
  return crypto.createPrivateKey(fs.readFileSync(file));
}
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58(bytes) {
  let n = BigInt('0x' + Buffer.from(bytes).toString('hex'));
  let out = '';
  while (n > 0n) { out = ALPHABET[Number(n % 58n)] + out; n /= 58n; }
  for (const b of bytes) { if (b !== 0) break; out = '1' + out; }
  return out;
}
const privateKey = loadKey(args.dir);
const publicRaw = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x, 'base64url');
const did = 'did:key:z' + base58(Buffer.concat([Buffer.from([0xed, 0x01]), publicRaw]));
const b64url = (data) => Buffer.from(data).toString('base64url');

// A call token (catenary/trust/token.py): compact JWS, EdDSA, for this node and this method.
let nodeId = null;
function token(method) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: did, aud: nodeId, mth: method, iat: now, exp: now + 60, jti: b64url(crypto.randomBytes(16)) };
  const input = `${b64url(JSON.stringify({ alg: 'Ed25519', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(crypto.sign(null, Buffer.from(input), privateKey))}`;
}
const signing = (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
  start(metadata, listener, next) {
    metadata.set('authorization', `Bearer ${token(options.method_definition.path)}`);
    next(metadata, listener);
  },
});

const credentials = grpc.credentials.createInsecure();
const options = { interceptors: [signing] };
const executions = new api.Execution(args.node, credentials, options);
const operations = new api.Operation(args.node, credentials, options);
const values = new api.Value(args.node, credentials, options);
const queues = new api.Queue(args.node, credentials, options);

// The node's did:key (the tokens' audience): its health check says it, without a token.
function learnNodeId() {
  const health = new grpc.Client(args.node, credentials);
  return new Promise((resolve, reject) => {
    const call = health.makeUnaryRequest('/grpc.health.v1.Health/Check', () => Buffer.alloc(0), (b) => b,
      Buffer.alloc(0), (err) => { health.close(); if (err) reject(err); else resolve(nodeId); });
    call.on('metadata', (metadata) => { nodeId = String(metadata.get('catenary-node-id')[0] || ''); });
  });
}

// The attestation block of a report (docs/trust.md), DAG-CBOR through the browser library (js/).
let dagCbor = null;
function attest(execution, output) {
  const { CID, encode, cidOf } = dagCbor;
  const data = { execution: CID.decode(execution.hash), key: CID.decode(execution.key), output: cidOf(output), signer: did };
  data.signature = crypto.sign(null, Buffer.from(encode(data)), privateKey);
  return Buffer.from(encode(data));
}
const call = (client, method, request) =>
  new Promise((resolve, reject) => client[method](request, (err, reply) => (err ? reject(err) : resolve(reply))));

// The operation itself.
const shout = (text) => text.toUpperCase() + '!';

// Values travel as DAG-CBOR. This operation only needs text strings (CBOR major type 3); a real
// executor would use a DAG-CBOR library (e.g. @ipld/dag-cbor).
function decodeText(data) {
  const head = data[0];
  if (head >> 5 !== 3) throw new TypeError('input 0: expected string');
  const info = head & 0x1f;
  const [length, start] = info < 24 ? [info, 1] : info === 24 ? [data[1], 2]
    : info === 25 ? [data.readUInt16BE(1), 3] : info === 26 ? [data.readUInt32BE(1), 5] : [-1, 0];
  if (length < 0 || start + length !== data.length) throw new TypeError('input 0: malformed string');
  return data.toString('utf8', start, start + length);
}
function encodeText(text) {
  const body = Buffer.from(text, 'utf8');
  const n = body.length;
  const head = n < 24 ? Buffer.from([0x60 | n]) : n < 256 ? Buffer.from([0x78, n])
    : n < 65536 ? Buffer.from([0x79, n >> 8, n & 0xff]) : Buffer.from([0x7a, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([head, body]);
}

const REMOTE = Buffer.from('a1646b696e646672656d6f7465', 'hex'); // DAG-CBOR of {"kind": "remote"}
let performed = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (event, hash, error) => console.log(JSON.stringify({
  event, execution: Buffer.from(hash).toString('base64'), executor: did, error: error || null,
}));

// One claimed execution: run it, renew its lease meanwhile, report. A lease lost meanwhile (the
// node says FAILED_PRECONDITION on the renewal or the report) drops the result: another executor
// has the execution, or will.
async function perform(claimed) {
  const hash = claimed.hash;
  const lease = { hash, status: 'IN_PROGRESS', executor: did, lease_seconds: args.lease };
  let lost = null;
  const renewal = setInterval(() => call(executions, 'Update', lease).catch((err) => {
    if (err.code === grpc.status.FAILED_PRECONDITION) lost = lost || err.details;
  }), (args.lease * 1000) / 3);
  try {
    let report;
    try {
      const input = await call(values, 'Get', { cid: claimed.inputs[0] });
      const output = encodeText(shout(decodeText(input.data)));
      report = { status: 'COMPLETED', output, attestation: attest(claimed, output) };
    } catch (err) {
      report = { status: 'FAILED', error: `${err.name}: ${err.message}` };
    }
    while (args.hold && fs.existsSync(args.hold)) await sleep(50);
    if (lost) return say('lost', hash, lost);
    let reported;
    try {
      reported = await call(executions, 'Update', { hash, executor: did, ...report });
    } catch (err) {
      if (err.code === grpc.status.FAILED_PRECONDITION) return say('lost', hash, err.details);
      throw err;
    }
    performed += 1;
    return say(reported.status.toLowerCase(), hash, reported.error);
  } finally {
    clearInterval(renewal);
  }
}

// Ask for work, one execution at a time, for ever (or --count executions). Nothing the node
// refuses ends the loop; an unreachable node is retried with backoff.
async function work(operation) {
  let delay = 200;
  for (;;) {
    let reply;
    try {
      reply = await call(queues, 'Claim', {
        executor: did, queue: args.queue, operations: [operation], max: 1, lease_seconds: args.lease, wait_seconds: 10,
      });
      delay = 200;
    } catch (err) {
      console.error(`cannot claim from ${args.node} (${err.details || err.message}); retrying`);
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
      continue;
    }
    for (const execution of reply.executions) {
      try {
        await perform(execution);
      } catch (err) {
        console.error(`cannot perform ${Buffer.from(execution.hash).toString('base64')}: ${err.details || err.message}`);
      }
      if (args.count && performed >= args.count) process.exit(0);
    }
  }
}

Promise.all([learnNodeId(), import(pathToFileURL(path.resolve(__dirname, '..', '..', 'js', 'src', 'cid.js')))])
  .then(([, cid]) => { dagCbor = cid; return call(operations, 'List', {}); })
  .then(({ operations: known }) => {
  const op = known.find((o) => o.name === args.name && o.implementation.equals(REMOTE));
  if (!op) {
    console.error(`error: the node at ${args.node} has no remote operation ${args.name} ` +
      '(register it: catenary op register-remote examples/executors/shout.json)');
    process.exit(2);
  }
  console.error(`executor ${did} performing ${args.name} for ${args.node} from queue ${args.queue}; lease ${args.lease} s`);
  return work(op.version_id);
}, (err) => {
  console.error(`error: cannot reach the node at ${args.node}: ${err.details || err.message}`);
  process.exit(1);
});
