r0 = 1
w0 = 1
r0 = -1
w0 += w1
r0 += r1
r0 -= 5
r0 *= r1
r0 /= r1
r0 s/= r1
w0 s/= w1
r0 %= 3
r0 s%= r1
r0 |= r1
r0 &= r1
r0 <<= 3
r0 >>= r1
r0 s>>= 3
w0 s>>= 3
r0 ^= r1
r0 = -r0
w0 = -w0
r0 = (s8)r1
r0 = (s16)r1
r0 = (s32)r1
w0 = (s8)w1
w0 = (s16)w1
r0 = be16 r0
r0 = be32 r0
r0 = be64 r0
r0 = le16 r0
r0 = le32 r0
r0 = le64 r0
r0 = bswap16 r0
r0 = bswap32 r0
r0 = bswap64 r0
r1 = 0x1122334455667788 ll
r1 = *(u8 *)(r10 - 4)
r1 = *(u16 *)(r10 - 4)
r1 = *(u32 *)(r10 - 4)
r1 = *(u64 *)(r10 + 4)
r0 = *(s8 *)(r1 + 0)
r0 = *(s16 *)(r1 + 0)
r0 = *(s32 *)(r1 + 0)
w0 = *(u8 *)(r1 + 0)
*(u64 *)(r10 - 8) = r1
*(u32 *)(r10 - 8) = w1
*(u8 *)(r10 - 8) = 5
*(u16 *)(r10 - 8) = -5
*(u32 *)(r10 - 8) = 5
*(u64 *)(r10 - 8) = 5
lock *(u64 *)(r10 - 8) += r1
lock *(u32 *)(r10 - 8) += w1
lock *(u64 *)(r10 - 8) |= r1
lock *(u64 *)(r10 - 8) &= r1
lock *(u64 *)(r10 - 8) ^= r1
r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)
w1 = atomic_fetch_add((u32 *)(r10 - 8), w1)
r1 = atomic_fetch_or((u64 *)(r10 - 8), r1)
r1 = atomic_fetch_and((u64 *)(r10 - 8), r1)
r1 = atomic_fetch_xor((u64 *)(r10 - 8), r1)
r1 = xchg_64(r10 - 8, r1)
w1 = xchg32_32(r10 - 8, w1)
r0 = cmpxchg_64(r10 - 8, r0, r1)
w0 = cmpxchg32_32(r10 - 8, w0, w1)
if r1 > 0x5 goto +3
if r1 == r2 goto +3
if w1 s< w2 goto -4
if w1 & 7 goto +1
if r1 s>= -1 goto +1
goto +2
gotol +5
call 12
call -5
callx r2
exit
may_goto +2
r1 = addr_space_cast(r2, 0x0, 0x1)
r1 = addr_space_cast(r2, 0x1, 0x0)
r0 = r1
w0 = w1
r1 = -1 ll
r1 = 0x8000000000000000 ll
r1 = 0 ll
r0 = -2147483648
w0 = 0xffffffff
r1 = *(u64 *)(r10 - 32768)
r1 = *(u64 *)(r10 + 32767)
if r1 & r2 goto -32768
if w1 != -1 goto +0
gotol -100
call 0x7fffffff
*(u8 *)(r1 + 0) = 255
r0 <<= -1
