package io.kflex.btf;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds raw {@code .BTF} bytes type by type, to test the parser on graphs no compiler emits. */
public final class BtfBuilder {
    private final ByteArrayOutputStream types = new ByteArrayOutputStream();
    private final ByteArrayOutputStream strings = new ByteArrayOutputStream();
    private int nextId = 1;

    public BtfBuilder() {
        strings.write(0);
    }

    public int string(String s) {
        int offset = strings.size();
        strings.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        strings.write(0);
        return offset;
    }

    public void word(long v) {
        types.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
    }

    /** A type header; returns the new type's id. Extra words are written by the caller. */
    public int header(int nameOff, BtfKind kind, int vlen, boolean kindFlag, long sizeOrType) {
        word(nameOff);
        word(((long) kind.code() << 24) | vlen | (kindFlag ? 1L << 31 : 0));
        word(sizeOrType);
        return nextId++;
    }

    public int intType(String name, int size) {
        int id = header(string(name), BtfKind.INT, 0, false, size);
        word((1L << 24) | size * 8L);
        return id;
    }

    public int typedef(String name, int type) { return header(string(name), BtfKind.TYPEDEF, 0, false, type); }

    public int constOf(int type) { return header(0, BtfKind.CONST, 0, false, type); }

    public int ptr(int type) { return header(0, BtfKind.PTR, 0, false, type); }

    public int array(int element, int index, long elements) {
        int id = header(0, BtfKind.ARRAY, 0, false, 0);
        word(element);
        word(index);
        word(elements);
        return id;
    }

    /** A struct with members given as (name, type) pairs laid out 8 bytes apart. */
    public int struct(String name, long size, Object... members) {
        int id = header(string(name), BtfKind.STRUCT, members.length / 2, false, size);
        for (int i = 0; i < members.length; i += 2) {
            word(string((String) members[i]));
            word((Integer) members[i + 1]);
            word(i / 2 * 64L);
        }
        return id;
    }

    public byte[] build() {
        byte[] t = types.toByteArray();
        byte[] s = strings.toByteArray();
        ByteBuffer out = ByteBuffer.allocate(24 + t.length + s.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putShort((short) Btf.MAGIC).put((byte) 1).put((byte) 0).putInt(24);
        out.putInt(0).putInt(t.length).putInt(t.length).putInt(s.length);
        out.put(t).put(s);
        return out.array();
    }
}
