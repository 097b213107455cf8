package io.kflex.loader;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The compiled test objects under {@code src/test/resources/objects} (sources beside them). */
public final class TestObjects {
    private TestObjects() {}

    public static byte[] bytes(String name) {
        try (InputStream in = TestObjects.class.getResourceAsStream("/objects/" + name)) {
            if (in == null) throw new IllegalStateException("missing test object " + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Little-endian field helpers for building corrupted copies. */
    public static long u64(byte[] b, int offset) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(offset);
    }

    public static int u32(byte[] b, int offset) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(offset);
    }

    public static void put64(byte[] b, int offset, long value) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(offset, value);
    }

    public static void put32(byte[] b, int offset, int value) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
    }

    public static void put16(byte[] b, int offset, int value) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putShort(offset, (short) value);
    }

    /** File offset of section header {@code index}. */
    public static int sectionHeader(byte[] b, int index) {
        return (int) u64(b, 40) + index * 64;
    }
}
