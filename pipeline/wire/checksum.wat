;; The Internet checksum's word sum (RFC 1071) over capflow's summable memory, 16 bytes at a time
;; with WebAssembly SIMD: the hot loop of software GSO and checksum repair, about three times as fast
;; as the same sum in JavaScript; and the frame copy between two ranges of that memory.
;; summable-memory.ts holds the assembled bytes; after editing this file, run
;; `node pipeline/wire/build-checksum-wasm.mjs` (a test checks the two agree).

(module
  ;; The memory is capflow's (summable-memory.ts makes it): I/O slots and packet slabs live in it.
  (import "capflow" "memory" (memory 1))

  ;; The one's complement sum of the little-endian 16-bit words of memory[p, p + n), n even,
  ;; folded with end-around carry to 1..0xffff (0 only when every byte is 0). Little-endian words
  ;; give the byte-swapped sum of the big-endian ones (RFC 1071 section 2(B)): the caller swaps.
  (func (export "sum") (param $p i32) (param $n i32) (result i32)
    (local $end i32) (local $vecEnd i32) (local $stop i32) (local $acc v128) (local $wide i64)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (local.set $vecEnd (i32.add (local.get $p) (i32.and (local.get $n) (i32.const -16))))
    ;; Whole vectors, in blocks of 256 KiB: each 32-bit lane gains less than 2^17 per vector, so
    ;; 2^14 vectors keep it below 2^31; the lanes are then added into a 64-bit total.
    (block $vectorsDone
      (loop $blocks
        (br_if $vectorsDone (i32.ge_u (local.get $p) (local.get $vecEnd)))
        (local.set $stop (i32.add (local.get $p) (i32.const 262144)))
        (if (i32.gt_u (local.get $stop) (local.get $vecEnd)) (then (local.set $stop (local.get $vecEnd))))
        (local.set $acc (v128.const i64x2 0 0))
        (loop $vectors
          (local.set $acc
            (i32x4.add (local.get $acc) (i32x4.extadd_pairwise_i16x8_u (v128.load align=1 (local.get $p)))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br_if $vectors (i32.lt_u (local.get $p) (local.get $stop))))
        (local.set $wide
          (i64.add (local.get $wide)
            (i64.add
              (i64.add (i64.extend_i32_u (i32x4.extract_lane 0 (local.get $acc)))
                       (i64.extend_i32_u (i32x4.extract_lane 1 (local.get $acc))))
              (i64.add (i64.extend_i32_u (i32x4.extract_lane 2 (local.get $acc)))
                       (i64.extend_i32_u (i32x4.extract_lane 3 (local.get $acc)))))))
        (br $blocks)))
    ;; The last words, one at a time.
    (block $wordsDone
      (loop $words
        (br_if $wordsDone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $wide (i64.add (local.get $wide) (i64.load16_u align=1 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 2)))
        (br $words)))
    ;; End-around carry down to 16 bits.
    (block $folded
      (loop $fold
        (br_if $folded (i64.eqz (i64.shr_u (local.get $wide) (i64.const 16))))
        (local.set $wide
          (i64.add (i64.and (local.get $wide) (i64.const 0xffff)) (i64.shr_u (local.get $wide) (i64.const 16))))
        (br $fold)))
    (i32.wrap_i64 (local.get $wide)))

  ;; memory[to, to + n) = memory[from, from + n), overlapping or not (memmove): the copy of a frame
  ;; between read chunks, packet slabs and output buffers. A typed array's copyWithin does the same
  ;; through a runtime call: 80 ns against 54 for a 1514-byte frame, measured.
  (func (export "copy") (param $to i32) (param $from i32) (param $n i32)
    (memory.copy (local.get $to) (local.get $from) (local.get $n))))
