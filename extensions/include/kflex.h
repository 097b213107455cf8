/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kflex.h — the extension author's reference for KFlex extensions in C.
 *
 * Include it with (or instead of) the stock libbpf headers; it includes <linux/bpf.h> and
 * <bpf/bpf_helpers.h> itself:
 *
 *     #include <linux/bpf.h>
 *     #include <bpf/bpf_helpers.h>
 *     #include "kflex.h"
 *
 * and build with a BPF compiler, e.g.
 *
 *     clang -O2 -g -target bpf -mcpu=v4 -I extensions/include \
 *           -I /usr/include/$(gcc -print-multiarch) -c ext.bpf.c -o ext.bpf.o
 *
 * (the multiarch directory provides <asm/types.h> to the UAPI headers; see
 * extensions/Makefile for the flags that make the object reproducible).
 *
 * What this header gives you, in the order it appears:
 *
 *   1. Linux arena conventions (Linux >= 6.9 names, so arena programs written for Linux
 *      compile and run unchanged): BPF_MAP_TYPE_ARENA, __arena, cast_kern()/cast_user(),
 *      bpf_arena_alloc_pages()/bpf_arena_free_pages().
 *   2. Loop helpers as libbpf's bpf_experimental.h / bpf_helpers.h define them:
 *      can_loop, cond_break (the `may_goto` instruction) and bpf_for (open-coded
 *      bpf_iter_num iterator).
 *   3. The KFlex API: kflex_heap(size) / KFLEX_HEAP / kflex_use_heap(), kflex_malloc(),
 *      kflex_free(), kflex_spin_lock(), kflex_spin_unlock().
 *
 * Linux compatibility: everything in (1) and (2) loads in a Linux kernel >= 6.9 (arena,
 * may_goto, addr_space_cast). The kflex_* kfuncs of (3) exist only in KFlex hosts; an object
 * that calls them is rejected by Linux's loader (libbpf: "extern (func ksym) 'kflex_malloc':
 * not found in kernel or module BTFs"). kflex_heap() itself is a plain arena map, so it
 * loads in Linux too.
 *
 * Semantics that differ from Linux (KFlex, see DESIGN §4–§6):
 *   - Heap pointers are not proven in bounds by the verifier; every heap access is confined
 *     to the heap at run time (software fault isolation), so a wild heap pointer can only
 *     read or write the extension's own heap, never host memory.
 *   - Loops need no static bound: a loop the verifier cannot prove terminating gets a
 *     cancellation point at its back-edge, and a watchdog cancels an invocation that runs
 *     too long, releasing every socket, lock or ring-buffer record it held.
 *     `while (n) n = n->next;` over a heap list is therefore legal here (Linux needs
 *     `while (n && can_loop)`).
 */
#ifndef KFLEX_H
#define KFLEX_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/version.h>
#include <bpf/bpf_helpers.h> /* SEC, __uint, __type, __ksym, __weak: libbpf's conventions */

/* ---------------------------------------------------------------------------------------
 * 0. UAPI definitions newer than the installed <linux/bpf.h>
 *
 * The UAPI header describes the kernel the *headers* came from, which may predate arenas
 * (6.9) or numeric iterators (6.4). The values below are Linux's and never change.
 * ------------------------------------------------------------------------------------- */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 9, 0)
/* enum bpf_map_type: the arena map (Linux 6.9), which is also the KFlex heap. */
#define BPF_MAP_TYPE_ARENA 33
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
/* Opaque state of the numeric iterator (Linux 6.4, struct bpf_iter_num in UAPI). */
struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));
#endif

/* The `off` field value that marks `rX = rX` as an address-space cast (instruction set). */
#ifndef BPF_ADDR_SPACE_CAST
#define BPF_ADDR_SPACE_CAST 1
#endif

#ifndef PAGE_SIZE
/* Arena pages are 4 KiB on every KFlex host (and on x86-64 Linux). */
#define PAGE_SIZE 4096
#endif

/* ---------------------------------------------------------------------------------------
 * 1. Heap pointers: __arena, cast_kern(), cast_user()
 *
 * A heap pointer is a 64-bit value whose low 32 bits are the offset inside the heap
 * (NULL stays 0). Pointers *stored* in the heap are in the "user" view so that a host
 * application sharing the heap can follow them too.
 *
 * With a compiler that knows the BPF address spaces (clang >= 19 defines
 * __BPF_FEATURE_ADDR_SPACE_CAST), declare heap pointers as `T __arena *p`: the compiler
 * emits the addr_space_cast instructions itself and cast_kern()/cast_user() are no-ops.
 * Otherwise (older clang, gcc) __arena is empty and cast_kern()/cast_user() emit the
 * instruction explicitly: call cast_kern(p) before dereferencing p and cast_user(p) before
 * storing p into the heap, exactly as in Linux's selftests (bpf_arena_common.h).
 *
 * The cast instruction is `rX = rX` (BPF_ALU64|BPF_MOV|BPF_X) with off = 1 and
 * imm = (dst_as << 16) | src_as: imm 1 turns a user (heap) pointer into a kernel-view
 * pointer, imm 0x10000 the reverse.
 * ------------------------------------------------------------------------------------- */
#ifndef bpf_addr_space_cast
#define bpf_addr_space_cast(var, dst_as, src_as)                                   \
	asm volatile(".byte 0xBF;"                                                 \
		     ".ifc %[reg], r0; .byte 0x00; .endif;"                        \
		     ".ifc %[reg], r1; .byte 0x11; .endif;"                        \
		     ".ifc %[reg], r2; .byte 0x22; .endif;"                        \
		     ".ifc %[reg], r3; .byte 0x33; .endif;"                        \
		     ".ifc %[reg], r4; .byte 0x44; .endif;"                        \
		     ".ifc %[reg], r5; .byte 0x55; .endif;"                        \
		     ".ifc %[reg], r6; .byte 0x66; .endif;"                        \
		     ".ifc %[reg], r7; .byte 0x77; .endif;"                        \
		     ".ifc %[reg], r8; .byte 0x88; .endif;"                        \
		     ".ifc %[reg], r9; .byte 0x99; .endif;"                        \
		     ".short %[off];"                                              \
		     ".long %[as]"                                                 \
		     : [reg] "+r"(var)                                             \
		     : [off] "i"(BPF_ADDR_SPACE_CAST),                             \
		       [as] "i"(((dst_as) << 16) | (src_as)))
#endif

#if defined(__BPF_FEATURE_ADDR_SPACE_CAST) && !defined(KFLEX_ARENA_FORCE_ASM)
#define __arena __attribute__((address_space(1)))
#define cast_kern(ptr) /* no-op: the compiler emits the cast */
#define cast_user(ptr) /* no-op: the compiler emits the cast */
#else
#define __arena
#define cast_kern(ptr) bpf_addr_space_cast(ptr, 0, 1)
#define cast_user(ptr) bpf_addr_space_cast(ptr, 1, 0)
#endif

/*
 * Page allocation in an arena (Linux kfuncs, same signatures as the kernel's).
 *
 *   bpf_arena_alloc_pages(&map, addr, n, node, flags): maps n zeroed pages and returns the
 *       heap pointer of the first, or NULL when the heap (or its memory limit) is exhausted.
 *       addr == NULL lets the allocator choose; otherwise the pages are placed at addr.
 *       node: NUMA node, pass NUMA_NO_NODE (-1). flags: 0.
 *   bpf_arena_free_pages(&map, ptr, n): unmaps n pages starting at ptr. Later accesses to
 *       them are harmless (reads give 0 in Linux; KFlex's checked mode reports them).
 */
#ifndef NUMA_NO_NODE
#define NUMA_NO_NODE (-1)
#endif
extern void __arena *bpf_arena_alloc_pages(void *map, void __arena *addr, __u32 page_cnt,
					   int node_id, __u64 flags) __ksym __weak;
extern void bpf_arena_free_pages(void *map, void __arena *ptr, __u32 page_cnt) __ksym __weak;

/* ---------------------------------------------------------------------------------------
 * 2. Loops: can_loop, cond_break, bpf_for
 *
 * can_loop is an expression that is true until the loop budget of the invocation is
 * exhausted; cond_break is a statement that leaves the enclosing loop at that point.
 * Both compile to one `may_goto` instruction (opcode 0xE5, off = where to jump when the
 * budget is exhausted). Linux needs one of them (or a provable bound) in every loop; KFlex
 * does not, but honours them with Linux's semantics so programs behave the same.
 *
 *     while (n && can_loop) n = n->next;
 *     for (;;) { cond_break; ... }
 * ------------------------------------------------------------------------------------- */
#ifndef can_loop
#ifdef __BPF_FEATURE_MAY_GOTO
#define can_loop                                                                   \
	({                                                                         \
		__label__ l_break, l_continue;                                     \
		_Bool ret = 1;                                                     \
		asm volatile goto("may_goto %l[l_break]" :::: l_break);            \
		goto l_continue;                                                   \
	l_break:                                                                   \
		ret = 0;                                                           \
	l_continue:;                                                               \
		ret;                                                               \
	})

#define __kflex_cond_break(expr)                                                   \
	({                                                                         \
		__label__ l_break, l_continue;                                     \
		asm volatile goto("may_goto %l[l_break]" :::: l_break);            \
		goto l_continue;                                                   \
	l_break:                                                                   \
		expr;                                                              \
	l_continue:;                                                               \
	})
#else
/* Compilers without the mnemonic: emit the instruction bytes (little-endian target). */
#define can_loop                                                                   \
	({                                                                         \
		__label__ l_break, l_continue;                                     \
		_Bool ret = 1;                                                     \
		asm volatile goto("1:.byte 0xe5;"                                  \
				  ".byte 0;"                                       \
				  ".short ((%l[l_break] - 1b - 8) / 8) & 0xffff;"  \
				  ".long 0" :::: l_break);                         \
		goto l_continue;                                                   \
	l_break:                                                                   \
		ret = 0;                                                           \
	l_continue:;                                                               \
		ret;                                                               \
	})

#define __kflex_cond_break(expr)                                                   \
	({                                                                         \
		__label__ l_break, l_continue;                                     \
		asm volatile goto("1:.byte 0xe5;"                                  \
				  ".byte 0;"                                       \
				  ".short ((%l[l_break] - 1b - 8) / 8) & 0xffff;"  \
				  ".long 0" :::: l_break);                         \
		goto l_continue;                                                   \
	l_break:                                                                   \
		expr;                                                              \
	l_continue:;                                                               \
	})
#endif /* __BPF_FEATURE_MAY_GOTO */
#endif /* can_loop */

#ifndef cond_break
#define cond_break __kflex_cond_break(break)
#define cond_break_label(label) __kflex_cond_break(goto label)
#endif

/*
 * Open-coded numeric iterator (Linux 6.4 kfuncs). The verifier knows that
 * bpf_iter_num_next() returns NULL after (end - start) steps, so the loop needs no
 * other bound:
 *
 *     int i;
 *     bpf_for(i, 0, 100) sum += i;
 */
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym __weak;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym __weak;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym __weak;

#ifndef bpf_for
#define bpf_for(i, start, end)                                                      \
	for (/* iterator state, destroyed when the loop is left by any path */      \
	     struct bpf_iter_num ___it __attribute__((aligned(8),                   \
						      cleanup(bpf_iter_num_destroy))), \
	     /* ___p exists only to call bpf_iter_num_new() once */                 \
	     *___p __attribute__((unused)) =                                        \
		     (bpf_iter_num_new(&___it, (start), (end)),                     \
		      /* makes the compiler emit BTF for the cleanup kfunc */       \
		      (void)bpf_iter_num_destroy, (void *)0);                       \
	     ({                                                                     \
		     int *___t = bpf_iter_num_next(&___it);                         \
		     (___t && ((i) = *___t, (i) >= (start) && (i) < (end)));        \
	     });)
#endif

/* ---------------------------------------------------------------------------------------
 * 3. The KFlex API
 * ------------------------------------------------------------------------------------- */

/*
 * kflex_heap(size) declares the extension's heap: an arena map named `kflex_heap_map`
 * of `size` bytes. Use it once per object, at file scope:
 *
 *     kflex_heap(1 << 20);          // 1 MiB heap
 *
 * size must be a power of two, at least one page (4 KiB) and at most 4 GiB (the heap is
 * addressed by the low 32 bits of a heap pointer). The map has BPF_F_MMAPABLE so a host
 * application can map the same pages and share the data structures; its max_entries is
 * the number of pages, as Linux's arena expects. Memory is committed lazily: a 4 GiB heap
 * costs only the pages that are touched.
 *
 * The heap's base address in the user view is chosen by the host (map_extra is left 0):
 * Linux needs the loader to mmap() the arena before a program using it loads, which
 * libbpf >= 1.4 does by itself.
 *
 * Pass KFLEX_HEAP wherever a kfunc wants the arena map (bpf_arena_alloc_pages() etc.).
 */
#define KFLEX_HEAP_MAX_BYTES (1ULL << 32)

#define kflex_heap(size)                                                            \
	_Static_assert((unsigned long long)(size) >= PAGE_SIZE &&                   \
			       (unsigned long long)(size) <= KFLEX_HEAP_MAX_BYTES && \
			       (((unsigned long long)(size) &                       \
				 ((unsigned long long)(size) - 1)) == 0),           \
		       "kflex_heap: size must be a power of two between 4 KiB and 4 GiB"); \
	struct {                                                                    \
		__uint(type, BPF_MAP_TYPE_ARENA);                                   \
		__uint(map_flags, BPF_F_MMAPABLE);                                  \
		__uint(max_entries, (unsigned long long)(size) / PAGE_SIZE);        \
	} kflex_heap_map SEC(".maps")

#define KFLEX_HEAP (&kflex_heap_map)

/*
 * kflex_use_heap() ties the current program to the heap without doing anything at run
 * time (it loads the map's address into a register). Linux accepts heap pointer
 * instructions only in programs that reference their arena map; a program that merely
 * follows heap pointers it found in a global (and never calls an arena kfunc) needs
 * this once. KFlex does not need it, and it costs one lddw.
 */
#define kflex_use_heap() asm volatile("" : : "r"(KFLEX_HEAP))

/*
 * kflex_malloc(size) returns a heap pointer to `size` bytes of zeroed memory, or NULL when
 * the heap or its memory limit is exhausted (never a fault). Objects are aligned to 8 bytes
 * (to their size class for small sizes). The allocator is the host's: a size-class
 * allocator over the heap's pages, so it mixes freely with bpf_arena_alloc_pages().
 *
 * kflex_free(ptr) returns an object to the allocator; ptr == NULL is a no-op. Freeing a
 * pointer that kflex_malloc() did not return cannot harm the host (the heap is isolated),
 * but may corrupt the extension's own heap.
 *
 * Both need a heap declared with kflex_heap() in the same object.
 */
extern void __arena *kflex_malloc(__u64 size) __ksym;
extern void kflex_free(void __arena *ptr) __ksym;

/*
 * Heap spin locks. The lock word lives in the heap, inside the data structure it protects,
 * so the host application sharing the heap takes the same lock (same protocol: a 32-bit
 * word, 0 = free). Zeroed memory is an unlocked lock.
 *
 * Unlike bpf_spin_lock(), which allows one lock at a time, several kflex locks may be held
 * at once (e.g. two buckets of a hash table, or a list and its element) — take them in a
 * consistent order. Acquisition never waits forever: it spins with the cancellation check,
 * so a deadlocked or stalled extension is cancelled by the watchdog and every lock it
 * holds is released. A lock still held when the program returns is a verifier error.
 */
typedef struct kflex_spinlock {
	__u32 val;
} kflex_spinlock_t;

extern void kflex_spin_lock(kflex_spinlock_t __arena *lock) __ksym;
extern void kflex_spin_unlock(kflex_spinlock_t __arena *lock) __ksym;

#endif /* KFLEX_H */
