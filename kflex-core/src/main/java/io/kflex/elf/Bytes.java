package io.kflex.elf;

import io.kflex.loader.LoadException;

/**
 * Bounds-checked little-endian reads from a byte array. Every read states what it is reading so a
 * failure says which structure of the file is broken.
 */
public final class Bytes {
    private final byte[] data;
    private final String what;

    public Bytes(byte[] data, String what) {
        this.data = data;
        this.what = what;
    }

    public int length() { return data.length; }

    public byte[] array() { return data; }

    /** Checks that {@code [offset, offset + size)} lies inside the data. */
    public void require(long offset, long size, String field) throws LoadException {
        if (offset < 0 || size < 0 || offset > data.length || size > data.length - offset) {
            throw new LoadException(what + ": " + field + " out of range: offset " + offset + " + size " + size
                    + " past end of " + what + " (" + data.length + " bytes)");
        }
    }

    public int u8(long offset, String field) throws LoadException {
        require(offset, 1, field);
        return data[(int) offset] & 0xff;
    }

    public int u16(long offset, String field) throws LoadException {
        require(offset, 2, field);
        int o = (int) offset;
        return (data[o] & 0xff) | (data[o + 1] & 0xff) << 8;
    }

    /** A 32-bit field as a signed int (callers that need it unsigned use {@link #u32}). */
    public int s32(long offset, String field) throws LoadException {
        require(offset, 4, field);
        int o = (int) offset;
        return (data[o] & 0xff) | (data[o + 1] & 0xff) << 8 | (data[o + 2] & 0xff) << 16 | (data[o + 3] & 0xff) << 24;
    }

    public long u32(long offset, String field) throws LoadException {
        return s32(offset, field) & 0xffffffffL;
    }

    public long s64(long offset, String field) throws LoadException {
        require(offset, 8, field);
        return (s32(offset, field) & 0xffffffffL) | ((long) s32(offset + 4, field) << 32);
    }

    /** A copy of {@code [offset, offset + size)}. */
    public byte[] slice(long offset, long size, String field) throws LoadException {
        require(offset, size, field);
        byte[] out = new byte[(int) size];
        System.arraycopy(data, (int) offset, out, 0, (int) size);
        return out;
    }

    /**
     * The NUL-terminated string starting at {@code offset} of a string table spanning
     * {@code [tableStart, tableStart + tableSize)}; the terminator must lie inside the table.
     */
    public static String string(byte[] table, long offset, String what) throws LoadException {
        if (offset < 0 || offset >= table.length) {
            throw new LoadException(what + ": string offset " + offset + " out of range of the string table (" + table.length + " bytes)");
        }
        int start = (int) offset;
        int end = start;
        while (end < table.length && table[end] != 0) end++;
        if (end == table.length) {
            throw new LoadException(what + ": string at offset " + offset + " is unterminated (no NUL before the end of its table)");
        }
        return new String(table, start, end - start, java.nio.charset.StandardCharsets.UTF_8);
    }
}
