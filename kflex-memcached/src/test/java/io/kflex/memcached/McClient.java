package io.kflex.memcached;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A raw-socket client: writes bytes, reads lines or exact byte counts, with timeouts. */
final class McClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    McClient(InetSocketAddress address) throws IOException {
        socket = new Socket(address.getAddress(), address.getPort());
        socket.setSoTimeout(5000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    McClient send(String text) throws IOException {
        return send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    McClient send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** One response line without "\r\n"; null when the server closed the connection. */
    String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') break;
            b.write(c);
        }
        if (c < 0 && b.size() == 0) return null;
        String s = b.toString(StandardCharsets.ISO_8859_1);
        if (!s.endsWith("\r")) throw new IOException("line not ended by \\r\\n: " + s);
        return s.substring(0, s.length() - 1);
    }

    /** Exactly n bytes. */
    byte[] read(int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) throw new IOException("connection closed after " + b.length + " of " + n + " bytes");
        return b;
    }

    /** Sends a command and returns its first response line. */
    String call(String command) throws IOException {
        send(command);
        return line();
    }

    /** Everything up to and including "END" (or a single error line), lines joined with "\n". */
    String untilEnd(String command) throws IOException {
        send(command);
        StringBuilder sb = new StringBuilder();
        String l;
        while ((l = line()) != null) {
            sb.append(l).append('\n');
            if (l.equals("END") || l.startsWith("ERROR") || l.contains("_ERROR")) break;
        }
        return sb.toString();
    }

    /** True when the server has closed the connection (reads EOF within the timeout). */
    boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (java.net.SocketException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** A UDP request expecting no answer (noreply): true when nothing came back within half a second. */
    static boolean udpNoReply(InetSocketAddress server, int requestId, String body) throws IOException {
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(500);
            byte[] b = body.getBytes(StandardCharsets.ISO_8859_1);
            ByteBuffer request = ByteBuffer.allocate(8 + b.length);
            request.putShort((short) requestId).putShort((short) 0).putShort((short) 1).putShort((short) 0).put(b);
            s.send(new DatagramPacket(request.array(), request.capacity(), server));
            try {
                s.receive(new DatagramPacket(new byte[65536], 65536));
                return false;
            } catch (java.net.SocketTimeoutException e) {
                return true;
            }
        }
    }

    /** A UDP request with the frame header; returns the payloads of the response datagrams in order. */
    static byte[][] udp(InetSocketAddress server, int requestId, String body, int expectedDatagrams) throws IOException {
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(5000);
            byte[] b = body.getBytes(StandardCharsets.ISO_8859_1);
            ByteBuffer request = ByteBuffer.allocate(8 + b.length);
            request.putShort((short) requestId).putShort((short) 0).putShort((short) 1).putShort((short) 0).put(b);
            s.send(new DatagramPacket(request.array(), request.capacity(), server));
            byte[][] datagrams = new byte[expectedDatagrams][];
            for (int i = 0; i < expectedDatagrams; i++) {
                DatagramPacket p = new DatagramPacket(new byte[65536], 65536);
                s.receive(p);
                datagrams[i] = Arrays.copyOf(p.getData(), p.getLength());
            }
            return datagrams;
        }
    }
}
