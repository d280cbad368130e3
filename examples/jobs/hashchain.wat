;; hashchain: SHA-256 applied N times.
;;
;; input:  N as a u64 little-endian (8 bytes), then the seed (any number of bytes)
;; output: h_N, where h_0 = seed and h_{i+1} = sha256(h_i): 32 bytes for N >= 1, the
;;         seed itself for N = 0. An input shorter than 8 bytes traps.
;;
;; Memory layout (page 0):
;;   0..255    K, the 64 round constants (u32, stored little-endian like every wasm i32)
;;   256..511  W, the message schedule
;;   512..543  H, the hash state
;;   544..575  the digest h_i (big-endian bytes, as SHA-256 writes it)
;;   576..703  the padded last block(s)
;;   1024..    the heap: alloc hands out the input buffer here, growing memory as needed
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (data (i32.const 0)
    "\98\2f\8a\42" "\91\44\37\71" "\cf\fb\c0\b5" "\a5\db\b5\e9"  ;; K[0..3] = 0x428a2f98 0x71374491 0xb5c0fbcf 0xe9b5dba5
    "\5b\c2\56\39" "\f1\11\f1\59" "\a4\82\3f\92" "\d5\5e\1c\ab"  ;; K[4..7] = 0x3956c25b 0x59f111f1 0x923f82a4 0xab1c5ed5
    "\98\aa\07\d8" "\01\5b\83\12" "\be\85\31\24" "\c3\7d\0c\55"  ;; K[8..11] = 0xd807aa98 0x12835b01 0x243185be 0x550c7dc3
    "\74\5d\be\72" "\fe\b1\de\80" "\a7\06\dc\9b" "\74\f1\9b\c1"  ;; K[12..15] = 0x72be5d74 0x80deb1fe 0x9bdc06a7 0xc19bf174
    "\c1\69\9b\e4" "\86\47\be\ef" "\c6\9d\c1\0f" "\cc\a1\0c\24"  ;; K[16..19] = 0xe49b69c1 0xefbe4786 0x0fc19dc6 0x240ca1cc
    "\6f\2c\e9\2d" "\aa\84\74\4a" "\dc\a9\b0\5c" "\da\88\f9\76"  ;; K[20..23] = 0x2de92c6f 0x4a7484aa 0x5cb0a9dc 0x76f988da
    "\52\51\3e\98" "\6d\c6\31\a8" "\c8\27\03\b0" "\c7\7f\59\bf"  ;; K[24..27] = 0x983e5152 0xa831c66d 0xb00327c8 0xbf597fc7
    "\f3\0b\e0\c6" "\47\91\a7\d5" "\51\63\ca\06" "\67\29\29\14"  ;; K[28..31] = 0xc6e00bf3 0xd5a79147 0x06ca6351 0x14292967
    "\85\0a\b7\27" "\38\21\1b\2e" "\fc\6d\2c\4d" "\13\0d\38\53"  ;; K[32..35] = 0x27b70a85 0x2e1b2138 0x4d2c6dfc 0x53380d13
    "\54\73\0a\65" "\bb\0a\6a\76" "\2e\c9\c2\81" "\85\2c\72\92"  ;; K[36..39] = 0x650a7354 0x766a0abb 0x81c2c92e 0x92722c85
    "\a1\e8\bf\a2" "\4b\66\1a\a8" "\70\8b\4b\c2" "\a3\51\6c\c7"  ;; K[40..43] = 0xa2bfe8a1 0xa81a664b 0xc24b8b70 0xc76c51a3
    "\19\e8\92\d1" "\24\06\99\d6" "\85\35\0e\f4" "\70\a0\6a\10"  ;; K[44..47] = 0xd192e819 0xd6990624 0xf40e3585 0x106aa070
    "\16\c1\a4\19" "\08\6c\37\1e" "\4c\77\48\27" "\b5\bc\b0\34"  ;; K[48..51] = 0x19a4c116 0x1e376c08 0x2748774c 0x34b0bcb5
    "\b3\0c\1c\39" "\4a\aa\d8\4e" "\4f\ca\9c\5b" "\f3\6f\2e\68"  ;; K[52..55] = 0x391c0cb3 0x4ed8aa4a 0x5b9cca4f 0x682e6ff3
    "\ee\82\8f\74" "\6f\63\a5\78" "\14\78\c8\84" "\08\02\c7\8c"  ;; K[56..59] = 0x748f82ee 0x78a5636f 0x84c87814 0x8cc70208
    "\fa\ff\be\90" "\eb\6c\50\a4" "\f7\a3\f9\be" "\f2\78\71\c6") ;; K[60..63] = 0x90befffa 0xa4506ceb 0xbef9a3f7 0xc67178f2

  ;; Make [0, end) addressable, growing memory; trap if the host refuses (memory limit).
  (func $ensure (param $end i64)
    (local $pages i64)
    (local.set $pages (i64.shr_u (i64.add (local.get $end) (i64.const 65535)) (i64.const 16)))
    (if (i64.gt_u (local.get $pages) (i64.const 65536)) (then unreachable))
    (if (i64.gt_u (local.get $pages) (i64.extend_i32_u (memory.size)))
      (then
        (if (i32.eq (memory.grow (i32.sub (i32.wrap_i64 (local.get $pages)) (memory.size))) (i32.const -1))
          (then unreachable)))))

  ;; A bump allocator: the host calls it once, for the input.
  (func (export "alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (call $ensure (i64.add (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $len))))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $len)) (i32.const 7)) (i32.const -8)))
    (local.get $p))

  ;; (ptr << 32) | len, what run returns
  (func $output (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len))))

  ;; byte swap: wasm loads little-endian, SHA-256 reads big-endian words
  (func $bswap (param $x i32) (result i32)
    (i32.or
      (i32.or (i32.shl (local.get $x) (i32.const 24))
              (i32.and (i32.shl (local.get $x) (i32.const 8)) (i32.const 0xff0000)))
      (i32.or (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 0xff00))
              (i32.shr_u (local.get $x) (i32.const 24)))))

  ;; One SHA-256 compression of the 64-byte block at $block into H.
  (func $compress (param $block i32)
    (local $t i32) (local $o i32) (local $w15 i32) (local $w2 i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $h i32)
    (local $t1 i32) (local $t2 i32)
    ;; W[0..16) = the block's big-endian words ($o = 4t throughout)
    (loop $load
      (i32.store offset=256 (local.get $o) (call $bswap (i32.load (i32.add (local.get $block) (local.get $o)))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br_if $load (i32.lt_u (local.get $o) (i32.const 64))))
    ;; W[t] = W[t-16] + s0(W[t-15]) + W[t-7] + s1(W[t-2]) for t in 16..64; W[t-k] is at 256 + 4t - 4k
    (loop $expand
      (local.set $w15 (i32.load offset=196 (local.get $o)))
      (local.set $w2 (i32.load offset=248 (local.get $o)))
      (i32.store offset=256 (local.get $o)
        (i32.add
          (i32.add (i32.load offset=192 (local.get $o))
                   (i32.xor (i32.xor (i32.rotr (local.get $w15) (i32.const 7)) (i32.rotr (local.get $w15) (i32.const 18)))
                            (i32.shr_u (local.get $w15) (i32.const 3))))
          (i32.add (i32.load offset=228 (local.get $o))
                   (i32.xor (i32.xor (i32.rotr (local.get $w2) (i32.const 17)) (i32.rotr (local.get $w2) (i32.const 19)))
                            (i32.shr_u (local.get $w2) (i32.const 10))))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br_if $expand (i32.lt_u (local.get $o) (i32.const 256))))
    (local.set $a (i32.load offset=512 (i32.const 0)))
    (local.set $b (i32.load offset=516 (i32.const 0)))
    (local.set $c (i32.load offset=520 (i32.const 0)))
    (local.set $d (i32.load offset=524 (i32.const 0)))
    (local.set $e (i32.load offset=528 (i32.const 0)))
    (local.set $f (i32.load offset=532 (i32.const 0)))
    (local.set $g (i32.load offset=536 (i32.const 0)))
    (local.set $h (i32.load offset=540 (i32.const 0)))
    ;; 64 rounds ($o = 4t again, from 0)
    (local.set $o (i32.const 0))
    (loop $round
      ;; t1 = h + S1(e) + ch(e, f, g) + K[t] + W[t]
      (local.set $t1
        (i32.add
          (i32.add (local.get $h)
                   (i32.xor (i32.xor (i32.rotr (local.get $e) (i32.const 6)) (i32.rotr (local.get $e) (i32.const 11)))
                            (i32.rotr (local.get $e) (i32.const 25))))
          (i32.add (i32.xor (i32.and (local.get $e) (local.get $f))
                            (i32.and (i32.xor (local.get $e) (i32.const -1)) (local.get $g)))
                   (i32.add (i32.load (local.get $o)) (i32.load offset=256 (local.get $o))))))
      ;; t2 = S0(a) + maj(a, b, c)
      (local.set $t2
        (i32.add
          (i32.xor (i32.xor (i32.rotr (local.get $a) (i32.const 2)) (i32.rotr (local.get $a) (i32.const 13)))
                   (i32.rotr (local.get $a) (i32.const 22)))
          (i32.xor (i32.xor (i32.and (local.get $a) (local.get $b)) (i32.and (local.get $a) (local.get $c)))
                   (i32.and (local.get $b) (local.get $c)))))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32.add (local.get $t1) (local.get $t2)))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br_if $round (i32.lt_u (local.get $o) (i32.const 256))))
    (i32.store offset=512 (i32.const 0) (i32.add (i32.load offset=512 (i32.const 0)) (local.get $a)))
    (i32.store offset=516 (i32.const 0) (i32.add (i32.load offset=516 (i32.const 0)) (local.get $b)))
    (i32.store offset=520 (i32.const 0) (i32.add (i32.load offset=520 (i32.const 0)) (local.get $c)))
    (i32.store offset=524 (i32.const 0) (i32.add (i32.load offset=524 (i32.const 0)) (local.get $d)))
    (i32.store offset=528 (i32.const 0) (i32.add (i32.load offset=528 (i32.const 0)) (local.get $e)))
    (i32.store offset=532 (i32.const 0) (i32.add (i32.load offset=532 (i32.const 0)) (local.get $f)))
    (i32.store offset=536 (i32.const 0) (i32.add (i32.load offset=536 (i32.const 0)) (local.get $g)))
    (i32.store offset=540 (i32.const 0) (i32.add (i32.load offset=540 (i32.const 0)) (local.get $h))))

  ;; sha256 of [msg, msg + len) into the 32 bytes at $out ($out may overlap the message
  ;; when it is shorter than a block: the tail is copied out before the digest is written).
  (func $sha256 (param $msg i32) (param $len i32) (param $out i32)
    (local $end i32) (local $rem i32) (local $total i32) (local $i i32)
    (i32.store offset=512 (i32.const 0) (i32.const 0x6a09e667))
    (i32.store offset=516 (i32.const 0) (i32.const 0xbb67ae85))
    (i32.store offset=520 (i32.const 0) (i32.const 0x3c6ef372))
    (i32.store offset=524 (i32.const 0) (i32.const 0xa54ff53a))
    (i32.store offset=528 (i32.const 0) (i32.const 0x510e527f))
    (i32.store offset=532 (i32.const 0) (i32.const 0x9b05688c))
    (i32.store offset=536 (i32.const 0) (i32.const 0x1f83d9ab))
    (i32.store offset=540 (i32.const 0) (i32.const 0x5be0cd19))
    ;; the whole blocks, straight from the message
    (local.set $end (i32.add (local.get $msg) (i32.and (local.get $len) (i32.const -64))))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $msg) (local.get $end)))
        (call $compress (local.get $msg))
        (local.set $msg (i32.add (local.get $msg) (i32.const 64)))
        (br $blocks)))
    ;; the rest, then 0x80, zeros and the length in bits (u64 big-endian): one or two blocks
    (local.set $rem (i32.and (local.get $len) (i32.const 63)))
    (memory.fill (i32.const 576) (i32.const 0) (i32.const 128))
    (memory.copy (i32.const 576) (local.get $msg) (local.get $rem))
    (i32.store8 offset=576 (local.get $rem) (i32.const 0x80))
    (local.set $total (select (i32.const 64) (i32.const 128) (i32.lt_u (local.get $rem) (i32.const 56))))
    (i32.store offset=568 (local.get $total) (call $bswap (i32.shr_u (local.get $len) (i32.const 29))))
    (i32.store offset=572 (local.get $total) (call $bswap (i32.shl (local.get $len) (i32.const 3))))
    (call $compress (i32.const 576))
    (if (i32.eq (local.get $total) (i32.const 128)) (then (call $compress (i32.const 640))))
    ;; the digest: H as big-endian words
    (loop $digest
      (i32.store (i32.add (local.get $out) (local.get $i)) (call $bswap (i32.load offset=512 (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $digest (i32.lt_u (local.get $i) (i32.const 32)))))

  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (local $n i64)
    (if (i32.lt_u (local.get $len) (i32.const 8)) (then unreachable))
    (local.set $n (i64.load (local.get $ptr)))
    (if (i64.eqz (local.get $n))
      (then (return (call $output (i32.add (local.get $ptr) (i32.const 8)) (i32.sub (local.get $len) (i32.const 8))))))
    (call $sha256 (i32.add (local.get $ptr) (i32.const 8)) (i32.sub (local.get $len) (i32.const 8)) (i32.const 544))
    (block $done
      (loop $chain
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br_if $done (i64.eqz (local.get $n)))
        (call $sha256 (i32.const 544) (i32.const 32) (i32.const 544))
        (br $chain)))
    (call $output (i32.const 544) (i32.const 32))))
