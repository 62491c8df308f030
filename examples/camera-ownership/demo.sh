#!/bin/sh
# Proof of camera and lens ownership, end to end, on the embedded default data dir (./.catenary).
set -eu
here=$(dirname "$0")
out="$here/out"
mkdir -p "$out"
field() { python3 -c "import json,sys; v=json.load(sys.stdin)$1; print(v if isinstance(v, str) else json.dumps(v))"; }

echo "== 1. a photo whose EXIF names body CX1-004217 and lens L35-99812"
python3 "$here/make_photo.py" "$out/photo.jpg" --body-serial CX1-004217 --lens-serial L35-99812

echo "== 2. the workflow: six segments, inputs [-1] [0] [-1,1] [2,0] [-1,3] [4,3]"
wf=$(catenary workflow create "$here/manifest.json" --json | field "['id']")
catenary workflow show "$wf"

echo "== 3. claim: camera CX1-004217 with lens L35-99812 (true)"
catenary run "$wf" --input 0=@"$out/photo.jpg" --input 2=text:CX1-004217 --input 4=text:L35-99812 \
  --json > "$out/run-true.json"
result=$(field "['result']" < "$out/run-true.json")
final=$(field "['final']" < "$out/run-true.json")
echo "result: $result  -> ownership proven (the result is the proven lens serial)"

echo "== 4. claim: camera CX1-004217 with lens L35-00000 (false); same photo, so segments 0-3 come from the cache"
catenary run "$wf" --input 0=@"$out/photo.jpg" --input 2=text:CX1-004217 --input 4=text:L35-00000 \
  --json > "$out/run-false.json"
echo "result: $(field "['result']" < "$out/run-false.json")  -> not proven (null)"
run2=$(field "['run']" < "$out/run-false.json")
catenary exec list --run "$run2"

echo "== 5. trace the proven result back to the events that started it"
catenary exec trace "$final"

echo "== 6. every execution is content-addressed: fetch the result value by its CID"
output=$(catenary exec get "$final" --json | field "['output']")
catenary value get "$output"

echo "== 7. verify by re-execution (the whole ancestry), then prove it to a stranger:"
echo "      export a CAR proof bundle and verify it offline on a fresh node"
catenary verify "$final" --trace
catenary export "$final" -o "$out/proof.car"
rm -rf "$out/fresh-node"
catenary --data-dir "$out/fresh-node" verify-bundle "$out/proof.car"

echo
echo "== 8. C2PA: a photo signed at capture. The signer is a TEST chain made here and now"
echo "      (a throwaway root and 'camera' certificate, not a real camera or trust list)"
c2pa_out="$out/c2pa"
python3 "$here/make_c2pa_photo.py" "$c2pa_out" --body-serial CX1-004217 --lens-serial L35-99812
python3 - "$here/manifest-c2pa.json" "$c2pa_out/test-root.pem" > "$c2pa_out/manifest.json" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
manifest["data"]["segments"][0]["sequence"][0]["config"]["trust_anchors"] = open(sys.argv[2]).read()
print(json.dumps(manifest, indent=2))
PY
wf_c2pa=$(catenary workflow create "$c2pa_out/manifest.json" --json | field "['id']")
catenary run "$wf_c2pa" --input 0=@"$c2pa_out/signed.jpg" --json > "$out/run-c2pa.json"
proof=$(field "['final']" < "$out/run-c2pa.json")
echo "result: $(field "['result']" < "$out/run-c2pa.json")  -> the serials as signed by the camera"

echo "== 9. the same photo with its pixels edited after signing: refused"
catenary run "$wf_c2pa" --input 0=@"$c2pa_out/edited.jpg" --json > "$out/run-edited.json"
echo "result: $(field "['result']" < "$out/run-edited.json")  -> not proven (null)"
edited_run=$(field "['run']" < "$out/run-edited.json")
facts=$(catenary exec list --run "$edited_run" --segment 0 --json | field "['executions'][0]['output']")
echo "what failed: $(catenary value get "$facts" | field "['failures']")"

echo "== 10. the owner signs a statement over the proof (in-toto Statement in a DSSE envelope)"
python3 - "$out/owner_key.pem" <<'PY'
import os, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
pem = Ed25519PrivateKey.generate().private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
if os.path.exists(sys.argv[1]):
    os.unlink(sys.argv[1])
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, pem)
os.close(fd)
PY
claim='{"owns": {"camera": "CX1-004217", "lens": "L35-99812"}}'
catenary statement create --proof "$proof" --claim "$claim" --key "$out/owner_key.pem" \
  -o "$out/statement.json"
edited_final=$(field "['final']" < "$out/run-edited.json")
if catenary statement create --proof "$edited_final" --claim "$claim" --key "$out/owner_key.pem" \
    2> "$out/refused.txt"; then
  echo "a statement over the edited photo was made: this must not happen" >&2
  exit 1
fi
echo "over the edited photo: $(cat "$out/refused.txt")"

echo "== 11. a stranger verifies the statement on a fresh data dir, from the proof bundle alone"
catenary export "$proof" -o "$out/proof-c2pa.car"
rm -rf "$out/fresh-node-2"
catenary --data-dir "$out/fresh-node-2" statement verify "$out/proof-c2pa.car"
