package io.kflex.memcached;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** A raw binary-protocol client: builds request frames, reads response frames, with timeouts. */
final class BinClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    BinClient(InetSocketAddress address) throws IOException {
        socket = new Socket(address.getAddress(), address.getPort());
        socket.setSoTimeout(5000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    /** A response frame. */
    record Response(int opcode, int status, int opaque, long cas, byte[] extras, byte[] key, byte[] value) {
        String valueText() { return new String(value, StandardCharsets.ISO_8859_1); }

        String keyText() { return new String(key, StandardCharsets.ISO_8859_1); }

        int flags() { return ByteBuffer.wrap(extras).getInt(); }

        long counter() { return ByteBuffer.wrap(value).getLong(); }
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A request frame; {@code bodyLength} < 0 means the real length of extras, key and value. */
    static byte[] frame(int magic, int opcode, byte[] extras, byte[] key, byte[] value, long cas, int opaque, long bodyLength) {
        int length = extras.length + key.length + value.length;
        ByteBuffer f = ByteBuffer.allocate(24 + length);
        f.put((byte) magic).put((byte) opcode).putShort((short) key.length).put((byte) extras.length).put((byte) 0).putShort((short) 0)
                .putInt((int) (bodyLength < 0 ? length : bodyLength)).putInt(opaque).putLong(cas);
        return f.put(extras).put(key).put(value).array();
    }

    static byte[] request(int opcode, byte[] extras, byte[] key, byte[] value, long cas, int opaque) {
        return frame(0x80, opcode, extras, key, value, cas, opaque, -1);
    }

    static byte[] request(int opcode, String key) {
        return request(opcode, new byte[0], b(key), new byte[0], 0, 0);
    }

    static byte[] storage(int opcode, String key, int flags, int exptime, String value, long cas) {
        return request(opcode, ByteBuffer.allocate(8).putInt(flags).putInt(exptime).array(), b(key), b(value), cas, 0);
    }

    static byte[] counter(int opcode, String key, long delta, long initial, int exptime, long cas) {
        return request(opcode, ByteBuffer.allocate(20).putLong(delta).putLong(initial).putInt(exptime).array(), b(key), new byte[0], cas, 0);
    }

    static byte[] touch(int opcode, String key, int exptime) {
        return request(opcode, ByteBuffer.allocate(4).putInt(exptime).array(), b(key), new byte[0], 0, 0);
    }

    static byte[] simple(int opcode) {
        return request(opcode, new byte[0], new byte[0], new byte[0], 0, 0);
    }

    BinClient send(byte[]... frames) throws IOException {
        for (byte[] f : frames) out.write(f);
        out.flush();
        return this;
    }

    /** The next response frame (failing if the server closed the connection or sent no valid frame). */
    Response read() throws IOException {
        byte[] header = in.readNBytes(24);
        if (header.length < 24) throw new IOException("connection closed after " + header.length + " header bytes");
        ByteBuffer h = ByteBuffer.wrap(header);
        if ((h.get(0) & 0xff) != 0x81) throw new IOException("bad response magic " + (h.get(0) & 0xff));
        int keyLength = h.getShort(2) & 0xffff, extrasLength = h.get(4) & 0xff, bodyLength = h.getInt(8);
        byte[] body = in.readNBytes(bodyLength);
        if (body.length < bodyLength) throw new IOException("connection closed inside a response body");
        return new Response(h.get(1) & 0xff, h.getShort(6) & 0xffff, h.getInt(12), h.getLong(16),
                java.util.Arrays.copyOfRange(body, 0, extrasLength), java.util.Arrays.copyOfRange(body, extrasLength, extrasLength + keyLength),
                java.util.Arrays.copyOfRange(body, extrasLength + keyLength, bodyLength));
    }

    /** Sends one request and reads its response. */
    Response call(byte[] frame) throws IOException {
        return send(frame).read();
    }

    /** True when the server closes the connection (EOF or reset) before sending anything else. */
    boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (java.net.SocketException e) {
            return true;
        }
    }

    /** True when nothing arrives within {@code millis}. */
    boolean silentFor(int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            in.read(); // a byte, or the end of the stream: either way not silent
            return false;
        } catch (SocketTimeoutException e) {
            return true;
        } finally {
            socket.setSoTimeout(5000);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
