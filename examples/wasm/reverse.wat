;; example/reverse: the bytes of a byte string in reverse order (catenary-wasm-abi/1).
;;
;; The input is the DAG-CBOR of a byte string: a head (major type 2 and the length)
;; and the payload. The output has the same length, so it reuses the input's head.
(module
  (@custom "catenary.manifest" "{\"name\": \"example/reverse\", \"description\": \"The bytes in reverse order.\", \"inputs\": [\"bytes\"], \"output\": \"bytes\", \"config\": {}, \"groups\": [\"example\", \"wasm\"]}")
  (memory (export "memory") 1)
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

  (func (export "catenary_run") (param $args i32) (param $nargs i32) (param $config i32)
                                (param $config_len i32) (param $ret i32) (result i32)
    (local $in i32) (local $len i32) (local $head i32) (local $out i32) (local $i i32)
    (local.set $in (i32.load (local.get $args)))
    (local.set $len (i32.load offset=4 (local.get $args)))
    (local.set $head (call $head_len (i32.load8_u (local.get $in))))
    (local.set $out (call $alloc (local.get $len)))
    (memory.copy (local.get $out) (local.get $in) (local.get $head))
    (local.set $i (local.get $head))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        ;; out[i] = in[len - 1 - (i - head)]
        (i32.store8 (i32.add (local.get $out) (local.get $i))
          (i32.load8_u (i32.sub (i32.add (local.get $in) (i32.add (local.get $len) (local.get $head)))
                                (i32.add (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (i32.store (local.get $ret) (local.get $out))
    (i32.store offset=4 (local.get $ret) (local.get $len))
    (i32.const 0))
)
