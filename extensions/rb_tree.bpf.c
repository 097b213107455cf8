/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rb_tree.bpf.c — an ordered map as a red-black tree in the heap.  KFlex only.
 *
 * Demonstrates: a balanced pointer structure (left, right and parent pointers) allocated node
 * by node with kflex_malloc and freed with kflex_free, rebalanced by rotations on insert and
 * delete; descents and rebalancing loops with no static bound (cancellation points); one heap
 * spin lock for the whole tree, which the host takes too when it reads the tree; a validator
 * that walks the tree without recursion or a stack (parent pointers) under `can_loop`.
 * Every node is reached through a freshly cast pointer and its fields lie within the guard
 * distance, so guard elision applies to every access (docs/heap.md).
 *
 *   tree (rb_tree, a user-view heap pointer in .bss) -> struct rb_tree
 *   struct rb_tree { u32 lock; u32 pad; struct rb_node *root; u64 count; }             24 bytes
 *   struct rb_node { struct rb_node *left, *right, *parent; u64 key; u64 value; u64 color; }
 *                                                                                     48 bytes
 *   color: RB_RED = 0, RB_BLACK = 1 (as in Linux's rbtree); a missing child is a black leaf.
 *
 * Programs (SEC("syscall")):
 *   rb_insert   ctx = struct rb_args { u64 key; u64 value; }. Inserts key -> value, or
 *               replaces the value of a present key (every u64 is a key).
 *               retval 0 = inserted, 1 = replaced, -1 = out of heap memory.
 *   rb_lookup   ctx.value = the key's value. retval 0 = found, 1 = absent (ctx untouched).
 *   rb_delete   removes the key, ctx.value = the value it had. retval 0 = removed, 1 = absent.
 *   rb_validate ctx = struct rb_check { u64 count; u64 black_height; u64 depth; }: walks the
 *               whole tree and checks the red-black invariants. retval 0 = valid, with ctx
 *               set to the number of nodes, the number of black nodes on every path from
 *               the root to a leaf, and the depth of the deepest node (0 for an empty tree);
 *               otherwise the first violation found (ctx untouched):
 *                 1 RB_E_ROOT         the root is red or has a parent
 *                 2 RB_E_COLOR        a color other than RB_RED / RB_BLACK
 *                 3 RB_E_RED_RED      a red node with a red parent
 *                 4 RB_E_BLACK_HEIGHT two paths with different numbers of black nodes
 *                 5 RB_E_ORDER        keys not strictly increasing in order
 *                 6 RB_E_LINK         a child whose parent pointer is not its parent
 *                 7 RB_E_COUNT        rb_tree.count differs from the number of nodes
 *                 8 RB_E_WALK         the walk did not end within 3 steps per counted node
 *                                     (a cycle), or its loop budget ran out
 *   Every program creates the tree on first use (retval -1 if that allocation fails).
 *   Example: insert(20, 2), insert(10, 1), insert(30, 3), insert(20, 22) -> 0, 0, 0, 1;
 *   lookup(20) -> 0, value 22; delete(10) -> 0, value 1; lookup(10) -> 1;
 *   validate -> 0, count 2, black height 1, depth 2.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

kflex_heap(1 << 22); /* 4 MiB: about 65,000 nodes */

#define RB_RED 0
#define RB_BLACK 1

#define RB_E_ROOT 1
#define RB_E_COLOR 2
#define RB_E_RED_RED 3
#define RB_E_BLACK_HEIGHT 4
#define RB_E_ORDER 5
#define RB_E_LINK 6
#define RB_E_COUNT 7
#define RB_E_WALK 8

struct rb_node {
	struct rb_node __arena *left;
	struct rb_node __arena *right;
	struct rb_node __arena *parent;
	__u64 key;
	__u64 value;
	__u64 color;
};

struct rb_tree {
	kflex_spinlock_t lock;
	__u32 pad;
	struct rb_node __arena *root;
	__u64 count;
};

struct rb_tree __arena *rb_tree; /* .bss: where the host finds the tree */

struct rb_args {
	__u64 key;
	__u64 value;
};

struct rb_check {
	__u64 count;
	__u64 black_height;
	__u64 depth;
};

static __always_inline struct rb_tree __arena *tree(void)
{
	struct rb_tree __arena *t = rb_tree;

	if (!t) {
		t = kflex_malloc(sizeof(*t));
		if (!t)
			return NULL;
		/* Two first callers may race: keep one tree (the other's allocation is freed). */
		if (__sync_val_compare_and_swap(&rb_tree, NULL, t) != NULL) {
			kflex_free(t);
			t = rb_tree;
		}
	}
	return t;
}

static __always_inline int is_red(struct rb_node __arena *n)
{
	return n && n->color == RB_RED;
}

/* Makes v take u's place under u's parent (or as the root); v may be NULL. */
static __always_inline void replace_child(struct rb_tree __arena *t, struct rb_node __arena *u,
					  struct rb_node __arena *v)
{
	struct rb_node __arena *p = u->parent;

	if (!p)
		t->root = v;
	else if (p->left == u)
		p->left = v;
	else
		p->right = v;
	if (v)
		v->parent = p;
}

/*    x              y
 *   / \            / \
 *  a   y    =>    x   c
 *     / \        / \
 *    b   c      a   b          (x->right is not NULL)
 */
static __always_inline void rotate_left(struct rb_tree __arena *t, struct rb_node __arena *x)
{
	struct rb_node __arena *y = x->right, *b = y->left;

	x->right = b;
	if (b)
		b->parent = x;
	replace_child(t, x, y);
	y->left = x;
	x->parent = y;
}

/* The mirror image of rotate_left (x->left is not NULL). */
static __always_inline void rotate_right(struct rb_tree __arena *t, struct rb_node __arena *x)
{
	struct rb_node __arena *y = x->left, *b = y->right;

	x->left = b;
	if (b)
		b->parent = x;
	replace_child(t, x, y);
	y->right = x;
	x->parent = y;
}

/* Restores the invariants after z was linked in red: at most one red-red edge, at z. */
static __always_inline void insert_fixup(struct rb_tree __arena *t, struct rb_node __arena *z)
{
	struct rb_node __arena *p, *g, *u;

	while ((p = z->parent) && p->color == RB_RED) {
		g = p->parent; /* a red node is never the root */
		if (!g)
			break;
		if (p == g->left) {
			u = g->right;
			if (is_red(u)) {
				p->color = RB_BLACK;
				u->color = RB_BLACK;
				g->color = RB_RED;
				z = g;
				continue;
			}
			if (z == p->right) {
				rotate_left(t, p);
				z = p;
				p = z->parent;
			}
			p->color = RB_BLACK;
			g->color = RB_RED;
			rotate_right(t, g);
		} else {
			u = g->left;
			if (is_red(u)) {
				p->color = RB_BLACK;
				u->color = RB_BLACK;
				g->color = RB_RED;
				z = g;
				continue;
			}
			if (z == p->left) {
				rotate_right(t, p);
				z = p;
				p = z->parent;
			}
			p->color = RB_BLACK;
			g->color = RB_RED;
			rotate_left(t, g);
		}
		break; /* after the rotations z's parent is black */
	}
	t->root->color = RB_BLACK;
}

/*
 * Restores the black height after a black node was removed from above x (x may be NULL, a
 * leaf, so its parent xp is passed along): x carries an extra black until it reaches a red
 * node or the root, or a rotation absorbs it.
 */
static __always_inline void delete_fixup(struct rb_tree __arena *t, struct rb_node __arena *x,
					 struct rb_node __arena *xp)
{
	struct rb_node __arena *w;

	while (xp && !is_red(x)) {
		if (x == xp->left) {
			w = xp->right; /* not NULL: its side has a black height of at least 1 */
			if (!w)
				break;
			if (w->color == RB_RED) {
				w->color = RB_BLACK;
				xp->color = RB_RED;
				rotate_left(t, xp);
				w = xp->right;
				if (!w)
					break;
			}
			if (!is_red(w->left) && !is_red(w->right)) {
				w->color = RB_RED;
				x = xp;
				xp = x->parent;
				continue;
			}
			if (!is_red(w->right)) {
				w->left->color = RB_BLACK;
				w->color = RB_RED;
				rotate_right(t, w);
				w = xp->right;
			}
			w->color = xp->color;
			xp->color = RB_BLACK;
			w->right->color = RB_BLACK;
			rotate_left(t, xp);
		} else {
			w = xp->left;
			if (!w)
				break;
			if (w->color == RB_RED) {
				w->color = RB_BLACK;
				xp->color = RB_RED;
				rotate_right(t, xp);
				w = xp->left;
				if (!w)
					break;
			}
			if (!is_red(w->left) && !is_red(w->right)) {
				w->color = RB_RED;
				x = xp;
				xp = x->parent;
				continue;
			}
			if (!is_red(w->left)) {
				w->right->color = RB_BLACK;
				w->color = RB_RED;
				rotate_left(t, w);
				w = xp->left;
			}
			w->color = xp->color;
			xp->color = RB_BLACK;
			w->left->color = RB_BLACK;
			rotate_right(t, xp);
		}
		x = t->root; /* the extra black is absorbed: done */
		break;
	}
	if (x)
		x->color = RB_BLACK;
}

/* Inserts under the tree's lock; fresh is a zeroed node or NULL (then only a replace can succeed). */
static __always_inline int insert_locked(struct rb_tree __arena *t, struct rb_node __arena *fresh,
					 __u64 key, __u64 value)
{
	struct rb_node __arena *n = t->root, *parent = NULL;
	int left = 0;

	while (n) {
		if (key == n->key) {
			n->value = value;
			return 1;
		}
		parent = n;
		left = key < n->key;
		n = left ? n->left : n->right;
	}
	if (!fresh)
		return -1;
	fresh->key = key;
	fresh->value = value;
	fresh->color = RB_RED;
	fresh->parent = parent;
	if (!parent)
		t->root = fresh;
	else if (left)
		parent->left = fresh;
	else
		parent->right = fresh;
	t->count++;
	insert_fixup(t, fresh);
	return 0;
}

/* Unlinks the node with key under the tree's lock; returns it (to be freed) or NULL. */
static __always_inline struct rb_node __arena *delete_locked(struct rb_tree __arena *t, __u64 key)
{
	struct rb_node __arena *z = t->root, *y, *x, *xp;
	__u64 removed_color;

	while (z && z->key != key)
		z = key < z->key ? z->left : z->right;
	if (!z)
		return NULL;
	removed_color = z->color;
	if (!z->left) {
		x = z->right;
		xp = z->parent;
		replace_child(t, z, x);
	} else if (!z->right) {
		x = z->left;
		xp = z->parent;
		replace_child(t, z, x);
	} else {
		/* Two children: z's successor y (leftmost of the right subtree) takes z's place. */
		y = z->right;
		while (y->left)
			y = y->left;
		removed_color = y->color;
		x = y->right;
		if (y->parent == z) {
			xp = y;
		} else {
			xp = y->parent;
			replace_child(t, y, x);
			y->right = z->right;
			y->right->parent = y;
		}
		replace_child(t, z, y);
		y->left = z->left;
		y->left->parent = y;
		y->color = z->color;
	}
	t->count--;
	if (removed_color == RB_BLACK)
		delete_fixup(t, x, xp);
	return z;
}

SEC("syscall")
int rb_insert(struct rb_args *ctx)
{
	struct rb_tree __arena *t = tree();
	struct rb_node __arena *fresh;
	__u64 key = ctx->key, value = ctx->value;
	int ret;

	if (!t)
		return -1;
	/* Allocate before taking the lock: nothing slow happens under it. */
	fresh = kflex_malloc(sizeof(*fresh));
	kflex_spin_lock(&t->lock);
	ret = insert_locked(t, fresh, key, value);
	kflex_spin_unlock(&t->lock);
	if (ret != 0 && fresh)
		kflex_free(fresh);
	return ret;
}

SEC("syscall")
int rb_lookup(struct rb_args *ctx)
{
	struct rb_tree __arena *t = tree();
	struct rb_node __arena *n;
	__u64 key = ctx->key;
	int ret = 1;

	if (!t)
		return -1;
	kflex_spin_lock(&t->lock);
	for (n = t->root; n; n = key < n->key ? n->left : n->right) {
		if (n->key == key) {
			ctx->value = n->value;
			ret = 0;
			break;
		}
	}
	kflex_spin_unlock(&t->lock);
	return ret;
}

SEC("syscall")
int rb_delete(struct rb_args *ctx)
{
	struct rb_tree __arena *t = tree();
	struct rb_node __arena *gone;
	__u64 key = ctx->key;

	if (!t)
		return -1;
	kflex_spin_lock(&t->lock);
	gone = delete_locked(t, key);
	kflex_spin_unlock(&t->lock);
	if (!gone)
		return 1;
	ctx->value = gone->value;
	kflex_free(gone);
	return 0;
}

/*
 * An in-order walk with parent pointers instead of a stack: `from` says where the walk came
 * from — the parent (first visit), the left child (left subtree done: visit the key) or the
 * right child (both done: go up). `black` counts the black nodes from the root to cur.
 */
static __always_inline int validate_locked(struct rb_tree __arena *t, struct rb_check *out)
{
	struct rb_node __arena *cur = t->root, *from = NULL;
	__u64 nodes = 0, steps = 0, limit = 3 * t->count + 3;
	__u64 black = 1, depth = 1, max_depth = 0, prev = 0;
	__s64 height = -1;
	int have_prev = 0;

	if (!cur) {
		if (t->count)
			return RB_E_COUNT;
		out->count = 0;
		out->black_height = 0;
		out->depth = 0;
		return 0;
	}
	if (cur->color != RB_BLACK || cur->parent)
		return RB_E_ROOT;
	while (cur && can_loop) {
		if (++steps > limit)
			return RB_E_WALK;
		if (from == cur->parent) {
			struct rb_node __arena *l = cur->left, *r = cur->right;

			nodes++;
			if (depth > max_depth)
				max_depth = depth;
			if (cur->color != RB_RED && cur->color != RB_BLACK)
				return RB_E_COLOR;
			if (cur->color == RB_RED && is_red(cur->parent))
				return RB_E_RED_RED;
			if ((l && l->parent != cur) || (r && r->parent != cur))
				return RB_E_LINK;
			if (!l || !r) { /* a leaf below cur: every such path has the same black count */
				if (height < 0)
					height = black;
				else if (height != black)
					return RB_E_BLACK_HEIGHT;
			}
			if (l) {
				from = cur;
				cur = l;
				black += cur->color == RB_BLACK;
				depth++;
				continue;
			}
			from = NULL; /* as if back from an empty left subtree */
		}
		if (from == cur->left) {
			if (have_prev && cur->key <= prev)
				return RB_E_ORDER;
			prev = cur->key;
			have_prev = 1;
			if (cur->right) {
				from = cur;
				cur = cur->right;
				black += cur->color == RB_BLACK;
				depth++;
				continue;
			}
		}
		black -= cur->color == RB_BLACK;
		depth--;
		from = cur;
		cur = cur->parent;
	}
	if (cur)
		return RB_E_WALK; /* the loop budget ran out */
	if (nodes != t->count)
		return RB_E_COUNT;
	out->count = nodes;
	out->black_height = height;
	out->depth = max_depth;
	return 0;
}

SEC("syscall")
int rb_validate(struct rb_check *ctx)
{
	struct rb_tree __arena *t = tree();
	int ret;

	if (!t)
		return -1;
	kflex_spin_lock(&t->lock);
	ret = validate_locked(t, ctx);
	kflex_spin_unlock(&t->lock);
	return ret;
}
