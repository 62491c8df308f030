;; example/has-key: is the input a map with the key named by config "key"? (catenary-wasm-abi/1)
;;
;; It walks DAG-CBOR in place: the config map for "key", then the input map's keys,
;; skipping each value whatever its kind. Anything that is not a map gives false.
(module
  (@custom "catenary.manifest" "{\"name\": \"example/has-key\", \"description\": \"True when the input is a map with the key given by config key.\", \"inputs\": [\"any\"], \"output\": \"bool\", \"config\": {\"key\": []}, \"groups\": [\"example\", \"wasm\"]}")
  (memory (export "memory") 1)
  (data (i32.const 0) "key")
  (data (i32.const 16) "example/has-key: config \"key\" is required (the map key to look for)")
  (global $heap (mut i32) (i32.const 1024))

  (func (export "catenary_abi_1"))

  ;; A bump allocator: an instance serves one call, so nothing is ever freed.
  (func $alloc (export "catenary_alloc") (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7))
                             (i32.const -8)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then (if (i32.eq (memory.grow (i32.sub (i32.shr_u (i32.add (local.get $end) (i32.const 65535))
                                                         (i32.const 16))
                                              (memory.size)))
                        (i32.const -1))
              (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))

  ;; Length of a DAG-CBOR head from its first byte: 1, 2, 3, 5 or 9 bytes.
  (func $head_len (param $b i32) (result i32)
    (local $info i32)
    (local.set $info (i32.and (local.get $b) (i32.const 31)))
    (if (i32.lt_u (local.get $info) (i32.const 24)) (then (return (i32.const 1))))
    (i32.add (i32.const 1) (i32.shl (i32.const 1) (i32.sub (local.get $info) (i32.const 24)))))

  ;; The head's argument (a length, a count or an integer), big-endian, low 32 bits.
  (func $arg (param $p i32) (result i32)
    (local $n i32) (local $v i32)
    (local.set $n (i32.sub (call $head_len (i32.load8_u (local.get $p))) (i32.const 1)))
    (if (i32.eqz (local.get $n))
      (then (return (i32.and (i32.load8_u (local.get $p)) (i32.const 31)))))
    (loop $byte
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $v (i32.or (i32.shl (local.get $v) (i32.const 8)) (i32.load8_u (local.get $p))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $byte (local.get $n)))
    (local.get $v))

  (func $major (param $p i32) (result i32) (i32.shr_u (i32.load8_u (local.get $p)) (i32.const 5)))

  ;; Past one whole item: count the items still to skip (arrays, maps and tags add theirs).
  (func $skip (param $p i32) (result i32)
    (local $todo i32) (local $major i32) (local $arg i32)
    (local.set $todo (i32.const 1))
    (loop $item
      (local.set $major (call $major (local.get $p)))
      (local.set $arg (call $arg (local.get $p)))
      (local.set $p (i32.add (local.get $p) (call $head_len (i32.load8_u (local.get $p)))))
      (if (i32.or (i32.eq (local.get $major) (i32.const 2)) (i32.eq (local.get $major) (i32.const 3)))
        (then (local.set $p (i32.add (local.get $p) (local.get $arg)))))
      (if (i32.eq (local.get $major) (i32.const 4))
        (then (local.set $todo (i32.add (local.get $todo) (local.get $arg)))))
      (if (i32.eq (local.get $major) (i32.const 5))
        (then (local.set $todo (i32.add (local.get $todo) (i32.shl (local.get $arg) (i32.const 1))))))
      (if (i32.eq (local.get $major) (i32.const 6))
        (then (local.set $todo (i32.add (local.get $todo) (i32.const 1)))))
      (local.set $todo (i32.sub (local.get $todo) (i32.const 1)))
      (br_if $item (local.get $todo)))
    (local.get $p))

  ;; Is the text string at $p exactly the $n bytes at $s?
  (func $text_is (param $p i32) (param $s i32) (param $n i32) (result i32)
    (local $i i32)
    (if (i32.or (i32.ne (call $major (local.get $p)) (i32.const 3))
                (i32.ne (call $arg (local.get $p)) (local.get $n)))
      (then (return (i32.const 0))))
    (local.set $p (i32.add (local.get $p) (call $head_len (i32.load8_u (local.get $p)))))
    (block $differ
      (loop $byte
        (if (i32.eq (local.get $i) (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (i32.add (local.get $p) (local.get $i)))
                               (i32.load8_u (i32.add (local.get $s) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $byte)))
    (i32.const 0))

  ;; Does the map at $p have a key equal to the $n bytes at $s? (false for a non-map)
  (func $has (param $p i32) (param $s i32) (param $n i32) (result i32)
    (local $count i32)
    (if (i32.ne (call $major (local.get $p)) (i32.const 5)) (then (return (i32.const 0))))
    (local.set $count (call $arg (local.get $p)))
    (local.set $p (i32.add (local.get $p) (call $head_len (i32.load8_u (local.get $p)))))
    (block $absent
      (loop $entry
        (br_if $absent (i32.eqz (local.get $count)))
        (if (call $text_is (local.get $p) (local.get $s) (local.get $n)) (then (return (i32.const 1))))
        (local.set $p (call $skip (call $skip (local.get $p))))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $entry)))
    (i32.const 0))

  (func (export "catenary_run") (param $args i32) (param $nargs i32) (param $config i32)
                                (param $config_len i32) (param $ret i32) (result i32)
    (local $want i32) (local $out i32)
    ;; The config value under "key": the item after that key in the config map.
    (if (i32.eqz (call $has (local.get $config) (i32.const 0) (i32.const 3)))
      (then (i32.store (local.get $ret) (i32.const 16))
            (i32.store offset=4 (local.get $ret) (i32.const 67))
            (return (i32.const 1))))
    ;; DAG-CBOR keys are sorted, and "key" is the only config key the manifest allows.
    (local.set $want (call $skip (i32.add (local.get $config) (i32.const 1))))
    (local.set $out (call $alloc (i32.const 1)))
    ;; true is f5, false is f4
    (i32.store8 (local.get $out)
      (i32.add (i32.const 0xf4)
        (call $has (i32.load (local.get $args))
                   (i32.add (local.get $want) (call $head_len (i32.load8_u (local.get $want))))
                   (call $arg (local.get $want)))))
    (i32.store (local.get $ret) (local.get $out))
    (i32.store offset=4 (local.get $ret) (i32.const 1))
    (i32.const 0))
)
