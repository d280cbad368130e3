;; sieve: the primes below a limit, by the sieve of Eratosthenes.
;;
;; input:  the limit L as a u32 little-endian (4 bytes), L <= 10,000,000
;; output: the number of primes below L (u32 LE), then the last min(16, that number)
;;         primes below L in ascending order (each u32 LE): 4 to 68 bytes.
;;         Any other input (not 4 bytes, L too large) traps.
;;
;; Memory layout:
;;   256..323     the output
;;   1024..       the heap: alloc hands out the input buffer here
;;   65536..      the sieve: one byte per number below L, 1 = composite (memory grows to fit)
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

  ;; A bump allocator below the sieve: the host calls it once, for the input.
  (func (export "alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (if (i32.gt_u (local.get $len) (i32.sub (i32.const 65536) (local.get $p))) (then unreachable))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $len)) (i32.const 7)) (i32.const -8)))
    (local.get $p))

  ;; (ptr << 32) | len, what run returns
  (func $output (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len))))

  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (local $limit i32) (local $i i32) (local $j i32) (local $count i32) (local $k i32)
    (if (i32.ne (local.get $len) (i32.const 4)) (then unreachable))
    (local.set $limit (i32.load (local.get $ptr)))
    (if (i32.gt_u (local.get $limit) (i32.const 10000000)) (then unreachable))
    (call $ensure (i64.add (i64.const 65536) (i64.extend_i32_u (local.get $limit))))
    ;; cross out the multiples of each prime i with i*i < L, from i*i on
    (local.set $i (i32.const 2))
    (block $crossed
      (loop $next
        (br_if $crossed (i32.ge_u (i32.mul (local.get $i) (local.get $i)) (local.get $limit)))
        (if (i32.eqz (i32.load8_u offset=65536 (local.get $i)))
          (then
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (loop $cross
              (i32.store8 offset=65536 (local.get $j) (i32.const 1))
              (local.set $j (i32.add (local.get $j) (local.get $i)))
              (br_if $cross (i32.lt_u (local.get $j) (local.get $limit))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    ;; count what is left in [2, L)
    (local.set $i (i32.const 2))
    (block $counted
      (loop $tally
        (br_if $counted (i32.ge_u (local.get $i) (local.get $limit)))
        (local.set $count (i32.add (local.get $count) (i32.eqz (i32.load8_u offset=65536 (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tally)))
    (i32.store (i32.const 256) (local.get $count))
    ;; the last k = min(count, 16) primes: scan down from L-1, filling slots k-1 .. 0
    (local.set $k (select (local.get $count) (i32.const 16) (i32.lt_u (local.get $count) (i32.const 16))))
    (local.set $j (local.get $k))
    (local.set $i (local.get $limit))
    (block $found
      (loop $scan
        (br_if $found (i32.eqz (local.get $j)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.load8_u offset=65536 (local.get $i)))
          (then
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (i32.store offset=260 (i32.shl (local.get $j) (i32.const 2)) (local.get $i))))
        (br $scan)))
    (call $output (i32.const 256) (i32.add (i32.const 4) (i32.shl (local.get $k) (i32.const 2))))))
