package io.kflex.isa;

/**
 * One decoded eBPF instruction (RFC 9669 plus Linux's {@code may_goto} and
 * {@code addr_space_cast}). Records hold the fields that matter for each form; offsets are kept
 * relative, exactly as encoded, so that an instruction means the same thing wherever it sits.
 * {@link Code} resolves them to absolute slot indices.
 */
public sealed interface Instruction {

    /** Number of 8-byte slots the instruction occupies (2 for {@code lddw}, 1 otherwise). */
    default int slots() { return 1; }

    /** {@code dst op= src} on 64 bits ({@code wide}) or on the low 32 bits, zero-extending the result. */
    record Alu(boolean wide, AluOp op, int dst, Operand src) implements Instruction {
        public Alu {
            Registers.check(dst);
        }
    }

    /** Byte-order conversion: {@code le16/32/64}, {@code be16/32/64} and the unconditional {@code bswap}. */
    record Endian(ByteSwap kind, int bits, int dst) implements Instruction {
        public Endian {
            Registers.check(dst);
            if (bits != 16 && bits != 32 && bits != 64) throw new IllegalArgumentException("byte swap of " + bits + " bits");
        }
    }

    /** The three byte-swap flavours: to little-endian, to big-endian, unconditional. */
    enum ByteSwap { TO_LE, TO_BE, BSWAP }

    /**
     * Linux's {@code addr_space_cast}: converts a heap (arena) pointer between the extension's
     * address space 1 (user view) and 0 (kernel view). Encoded as ALU64 MOV X with {@code off = 1}.
     */
    record AddrSpaceCast(int dst, int src, int dstAddressSpace, int srcAddressSpace) implements Instruction {
        public AddrSpaceCast {
            Registers.check(dst);
            Registers.check(src);
        }

        public int immediate() { return (dstAddressSpace << 16) | srcAddressSpace; }
    }

    /**
     * {@code lddw}: a 64-bit immediate load over two slots. {@code pseudo} (the {@code src_reg}
     * field) selects the Linux pseudo form: a plain constant, a map by fd or index, a pointer into
     * a map value, a BTF object or a function.
     */
    record LoadImm64(int dst, int pseudo, int imm, int nextImm) implements Instruction {
        public static final int PLAIN = 0;
        public static final int MAP_FD = 1;
        public static final int MAP_VALUE = 2;
        public static final int BTF_ID = 3;
        public static final int FUNC = 4;
        public static final int MAP_IDX = 5;
        public static final int MAP_IDX_VALUE = 6;

        public LoadImm64 {
            Registers.check(dst);
            if (pseudo < 0 || pseudo > MAP_IDX_VALUE) throw new IllegalArgumentException("lddw pseudo source " + pseudo);
        }

        private static final String[] PSEUDO_NAMES = {"", "map_fd", "map_value", "btf_id", "func", "map_idx", "map_idx_value"};

        /** The assembler's name of a pseudo form ({@code map_fd}, ...); empty for a plain constant. */
        public static String pseudoName(int pseudo) {
            return pseudo >= 0 && pseudo < PSEUDO_NAMES.length ? PSEUDO_NAMES[pseudo] : "unknown";
        }

        public static LoadImm64 of(int dst, long value) {
            return new LoadImm64(dst, PLAIN, (int) value, (int) (value >>> 32));
        }

        /** The 64-bit constant: {@code imm} is the low word, the second slot's {@code imm} the high word. */
        public long value() { return (imm & 0xffffffffL) | ((long) nextImm << 32); }

        @Override
        public int slots() { return 2; }
    }

    /** {@code dst = *(size *)(src + off)}, sign-extending when {@code signed} (mode {@code MEMSX}). */
    record Load(Size size, boolean signed, int dst, int src, short off) implements Instruction {
        public Load {
            Registers.check(dst);
            Registers.check(src);
            if (signed && size == Size.DW) throw new IllegalArgumentException("no sign-extending 64-bit load");
        }
    }

    /** {@code *(size *)(dst + off) = imm} (class ST). */
    record Store(Size size, int dst, short off, int imm) implements Instruction {
        public Store {
            Registers.check(dst);
        }
    }

    /** {@code *(size *)(dst + off) = src} (class STX, mode MEM). */
    record StoreReg(Size size, int dst, int src, short off) implements Instruction {
        public StoreReg {
            Registers.check(dst);
            Registers.check(src);
        }
    }

    /**
     * Atomic read-modify-write of {@code *(size *)(dst + off)} with {@code src}. With {@code fetch}
     * the old value lands in {@code src}; {@code CMPXCHG} compares with and writes the old value to r0.
     */
    record Atomic(Size size, AtomicOp op, boolean fetch, int dst, int src, short off) implements Instruction {
        public Atomic {
            Registers.check(dst);
            Registers.check(src);
            if (size != Size.W && size != Size.DW) throw new IllegalArgumentException("atomic of size " + size);
            if (op.alwaysFetches() && !fetch) throw new IllegalArgumentException(op + " always fetches");
        }

        public int immediate() { return op.code() | (fetch ? AtomicOp.FETCH : 0); }
    }

    /** Conditional jump {@code if dst op src goto +off}, on 64 bits or (JMP32) the low 32 bits. */
    record Jump(boolean wide, JumpOp op, int dst, Operand src, short off) implements Instruction {
        public Jump {
            Registers.check(dst);
        }
    }

    /** Unconditional jump: {@code ja} with a 16-bit offset, or {@code ja32} ({@code gotol}) with a 32-bit one. */
    record Goto(int offset, boolean longForm) implements Instruction {
        public Goto {
            if (!longForm && (offset < Short.MIN_VALUE || offset > Short.MAX_VALUE)) {
                throw new IllegalArgumentException("ja offset " + offset + " needs ja32");
            }
        }
    }

    /**
     * Linux's {@code may_goto}: falls through while the invocation's loop budget lasts, jumps by
     * {@code off} once it is exhausted.
     */
    record MayGoto(short off) implements Instruction {}

    /** A call by immediate: a host helper by Linux number, a local subprogram, or a kfunc by BTF id. */
    record Call(CallKind kind, int imm, short off) implements Instruction {
        public static Call helper(int id) { return new Call(CallKind.HELPER, id, (short) 0); }

        public static Call local(int relative) { return new Call(CallKind.LOCAL, relative, (short) 0); }

        public static Call kfunc(int btfId) { return new Call(CallKind.KFUNC, btfId, (short) 0); }
    }

    /** What the {@code src_reg} field of a call names. */
    enum CallKind {
        HELPER(0), LOCAL(1), KFUNC(2);

        private final int src;

        CallKind(int src) { this.src = src; }

        public int srcReg() { return src; }
    }

    /** {@code callx}: a call through a register ({@code dst_reg} holds the target). */
    record CallX(int reg) implements Instruction {
        public CallX {
            Registers.check(reg);
        }
    }

    /** {@code exit}: return r0 to the caller frame or, from the main frame, to the host. */
    record Exit() implements Instruction {}
}
