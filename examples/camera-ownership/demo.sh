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
