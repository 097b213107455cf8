package io.kflex.isa;

/** Field constants of the eBPF opcode byte (RFC 9669 §3). */
public final class Opcodes {
    private Opcodes() {}

    // Instruction classes (low 3 bits).
    public static final int LD = 0x00;
    public static final int LDX = 0x01;
    public static final int ST = 0x02;
    public static final int STX = 0x03;
    public static final int ALU = 0x04;
    public static final int JMP = 0x05;
    public static final int JMP32 = 0x06;
    public static final int ALU64 = 0x07;

    // Source bit of ALU and JMP classes.
    public static final int K = 0x00;
    public static final int X = 0x08;

    // Mode bits of load and store classes.
    public static final int IMM = 0x00;
    public static final int ABS = 0x20;
    public static final int IND = 0x40;
    public static final int MEM = 0x60;
    public static final int MEMSX = 0x80;
    public static final int ATOMIC = 0xc0;

    // Operations that are neither AluOp nor JumpOp.
    public static final int END = 0xd0;
    public static final int JA = 0x00;
    public static final int CALL = 0x80;
    public static final int EXIT = 0x90;
    public static final int MAY_GOTO = 0xe0;

    public static int instructionClass(int opcode) { return opcode & 0x07; }

    public static int source(int opcode) { return opcode & 0x08; }

    public static int operation(int opcode) { return opcode & 0xf0; }

    public static int mode(int opcode) { return opcode & 0xe0; }

    public static int size(int opcode) { return opcode & 0x18; }
}
