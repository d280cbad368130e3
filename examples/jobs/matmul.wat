;; matmul: the product of two square matrices of 32-bit integers.
;;
;; input:  n as a u32 little-endian, then A and B, each n*n i32 little-endian, row-major
;; output: C = A x B, n*n i32 little-endian, row-major, with wrapping (mod 2^32)
;;         arithmetic: C[i][j] = sum over k of A[i][k] * B[k][j]. n = 0 gives no output.
;;         An input whose length is not 4 + 8*n*n traps.
;;
;; Memory layout: the heap from 1024 on, where alloc hands out the input buffer and then
;; run the output buffer, growing memory as needed.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  ;; Make [0, end) addressable, growing memory; trap if the host refuses (memory limit).
  (func $ensure (param $end i64)
    (local $pages i64)
    (local.set $pages (i64.shr_u (i64.add (local.get $end) (i64.const 65535)) (i64.const 16)))
    (if (i64.gt_u (local.get $pages) (i64.const 65536)) (then unreachable))
    (if (i64.gt_u (local.get $pages) (i64.extend_i32_u (memory.size)))
      (then
        (if (i32.eq (memory.grow (i32.sub (i32.wrap_i64 (local.get $pages)) (memory.size))) (i32.const -1))
          (then unreachable)))))

  ;; A bump allocator: 8-byte aligned blocks, never freed.
  (func $alloc (export "alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (call $ensure (i64.add (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $len))))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $len)) (i32.const 7)) (i32.const -8)))
    (local.get $p))

  ;; (ptr << 32) | len, what run returns
  (func $output (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len))))

  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32) (local $row i32) (local $a i32) (local $b i32) (local $c i32)
    (local $i i32) (local $j i32) (local $k i32) (local $pa i32) (local $pb i32) (local $pc i32) (local $sum i32)
    (if (i32.lt_u (local.get $len) (i32.const 4)) (then unreachable))
    (local.set $n (i32.load (local.get $ptr)))
    ;; n < 2^16 keeps 8*n*n within an i64; the length check then keeps 4*n*n within an i32
    (if (i32.gt_u (local.get $n) (i32.const 0xffff)) (then unreachable))
    (if (i64.ne (i64.extend_i32_u (local.get $len))
                (i64.add (i64.const 4) (i64.shl (i64.mul (i64.extend_i32_u (local.get $n)) (i64.extend_i32_u (local.get $n)))
                                                (i64.const 3))))
      (then unreachable))
    (local.set $row (i32.shl (local.get $n) (i32.const 2)))  ;; bytes in a row
    (local.set $a (i32.add (local.get $ptr) (i32.const 4)))
    (local.set $b (i32.add (local.get $a) (i32.mul (local.get $row) (local.get $n))))
    (local.set $c (call $alloc (i32.mul (local.get $row) (local.get $n))))
    (local.set $pc (local.get $c))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $n)))
            ;; C[i][j] = row i of A . column j of B
            (local.set $sum (i32.const 0))
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $row))))
            (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $k (i32.const 0))
            (block $dot_done
              (loop $dot
                (br_if $dot_done (i32.ge_u (local.get $k) (local.get $n)))
                (local.set $sum (i32.add (local.get $sum) (i32.mul (i32.load (local.get $pa)) (i32.load (local.get $pb)))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
                (local.set $pb (i32.add (local.get $pb) (local.get $row)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $dot)))
            (i32.store (local.get $pc) (local.get $sum))
            (local.set $pc (i32.add (local.get $pc) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (call $output (local.get $c) (i32.mul (local.get $row) (local.get $n)))))
