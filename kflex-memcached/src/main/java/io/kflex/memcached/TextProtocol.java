package io.kflex.memcached;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * memcached's text protocol over one request stream (a TCP connection, or the body of one UDP
 * request). Answers follow memcached 1.6: {@code ERROR} for an unknown command, {@code
 * CLIENT_ERROR ...} for a malformed one, {@code SERVER_ERROR ...} when the server cannot do it.
 * Malformed input never ends the stream except where memcached ends it too: a line longer than
 * {@link #LINE_MAX}, or the input ending inside a data block.
 */
final class TextProtocol {
    static final int LINE_MAX = 64 * 1024;
    private static final byte[] CRLF = {'\r', '\n'};

    private final HeapStore store;
    private final ServerStats stats;
    private final String version;
    /** Extra {@code STAT} lines (the offload's counters), name → value. */
    private final Supplier<Map<String, String>> extraStats;
    private final boolean strictKeys;
    /** Told of reads and writes (the BMC-style cache); set before the server serves. */
    private LookasideCache lookaside = LookasideCache.NONE;

    TextProtocol(HeapStore store, ServerStats stats, String version, Supplier<Map<String, String>> extraStats, boolean strictKeys) {
        this.store = store;
        this.strictKeys = strictKeys;
        this.stats = stats;
        this.version = version;
        this.extraStats = extraStats;
    }

    void lookaside(LookasideCache cache) { this.lookaside = java.util.Objects.requireNonNull(cache); }

    /** The commands that may change their key (the second token). */
    private static final java.util.Set<String> WRITES = java.util.Set.of("set", "add", "replace", "append", "prepend", "cas",
            "delete", "incr", "decr", "touch");

    /** Thrown when the client asked to close the connection ({@code quit}) or must be dropped. */
    static final class Close extends IOException {
        Close(String why) { super(why); }
    }

    /**
     * Serves commands from {@code in} until it ends or the client quits; {@code flush} runs
     * whenever no further request is already buffered (so pipelined requests share writes).
     */
    void serve(InputStream in, OutputStream out, Runnable flush) throws IOException {
        try {
            while (true) {
                byte[] line = readLine(in, out);
                if (line == null) return;
                command(line, in, out);
                if (in.available() == 0) flush.run();
            }
        } catch (Close e) {
            flush.run();
        }
    }

    /** A line without its "\r\n" (or "\n"); null at the end of the input. */
    private static byte[] readLine(InputStream in, OutputStream out) throws IOException {
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(64);
        while (true) {
            int c = in.read();
            if (c < 0) return line.size() == 0 ? null : line.toByteArray();
            if (c == '\n') {
                byte[] bytes = line.toByteArray();
                int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return java.util.Arrays.copyOf(bytes, length);
            }
            if (line.size() >= LINE_MAX) {
                out.write("CLIENT_ERROR line too long\r\n".getBytes(StandardCharsets.US_ASCII));
                throw new Close("line too long");
            }
            line.write(c);
        }
    }

    private static List<byte[]> tokens(byte[] line) {
        List<byte[]> tokens = new ArrayList<>();
        int i = 0;
        while (i < line.length) {
            while (i < line.length && line[i] == ' ') i++;
            int start = i;
            while (i < line.length && line[i] != ' ') i++;
            if (i > start) tokens.add(java.util.Arrays.copyOfRange(line, start, i));
        }
        return tokens;
    }

    private static String text(byte[] token) {
        return new String(token, StandardCharsets.ISO_8859_1);
    }

    /**
     * A key of 1..250 bytes (spaces split tokens). Strict keys also have no control characters,
     * as the protocol specifies; memcached itself does not check that, and memcaslap's keys
     * start with 0x10 bytes, so the check can be turned off.
     */
    boolean validKey(byte[] key) {
        if (key.length == 0 || key.length > HeapStore.KEY_MAX) return false;
        if (strictKeys) for (byte b : key) if ((b & 0xff) < 0x21 || b == 0x7f) return false;
        return true;
    }

    private void command(byte[] line, InputStream in, OutputStream out) throws IOException {
        List<byte[]> t = tokens(line);
        if (t.isEmpty()) {
            reply(out, "ERROR");
            return;
        }
        String name = text(t.getFirst());
        // A command that ends in "noreply" is answered with nothing at all, errors included, as memcached 1.6 does:
        // its client reads no answer, so any line would be taken for the answer to its next command.
        OutputStream answer = noreply(name, t) ? OutputStream.nullOutputStream() : out;
        try {
            switch (name) {
                case "get" -> get(t, out, false);
                case "gets" -> get(t, out, true);
                case "gat" -> getAndTouch(t, out, false);
                case "gats" -> getAndTouch(t, out, true);
                case "set", "add", "replace", "append", "prepend" -> storage(name, t, in, answer, false);
                case "cas" -> storage(name, t, in, answer, true);
                case "delete" -> delete(t, answer);
                case "incr", "decr" -> delta(name.equals("incr"), t, answer);
                case "touch" -> touch(t, answer);
                case "flush_all" -> flushAll(t, answer);
                case "version" -> reply(out, "VERSION " + version); // memcached ignores arguments, noreply too
                case "verbosity" -> verbosity(t, answer);
                case "stats" -> stats(t, out);
                case "quit" -> throw new Close("quit");
                default -> reply(out, "ERROR");
            }
        } catch (RuntimeException e) {
            // A fault of the server (e.g. the heap refused an access): the client gets a line, not a hang.
            reply(answer, "SERVER_ERROR " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().replaceAll("[\r\n]", " ")));
        } finally {
            // after the write, before the reply leaves: whoever got the reply can no longer meet an older cached value
            if (t.size() > 1 && WRITES.contains(name)) lookaside.written(t.get(1));
        }
    }

    private static void reply(OutputStream out, String line) throws IOException {
        out.write(line.getBytes(StandardCharsets.ISO_8859_1));
        out.write(CRLF);
    }

    /**
     * Whether {@code noreply} applies: as in memcached, only to the commands that take it, with a
     * token count they accept (any other count is answered {@code ERROR}), when it is the last
     * token. In that position any other word is ignored, as memcached ignores it.
     */
    private static boolean noreply(String name, List<byte[]> t) {
        int least = switch (name) {
            case "set", "add", "replace", "append", "prepend" -> 5;
            case "cas" -> 6;
            case "incr", "decr", "touch", "delete" -> 3; // "delete noreply" deletes the key "noreply" and says so
            case "flush_all", "verbosity" -> 2;
            default -> -1;
        };
        return least > 0 && t.size() >= least && t.size() <= least + 1 && endsInNoreply(t);
    }

    private static boolean endsInNoreply(List<byte[]> t) {
        return text(t.getLast()).equals("noreply");
    }

    private static final String BAD_FORMAT = "CLIENT_ERROR bad command line format";

    private void get(List<byte[]> t, OutputStream out, boolean withCas) throws IOException {
        if (t.size() < 2) {
            reply(out, "ERROR");
            return;
        }
        for (int i = 1; i < t.size(); i++) {
            if (!validKey(t.get(i))) {
                reply(out, BAD_FORMAT);
                return;
            }
        }
        for (int i = 1; i < t.size(); i++) {
            stats.cmdGet.increment();
            long ticket = lookaside.ticket(t.get(i));
            HeapStore.Item item = store.get(t.get(i));
            (item == null ? stats.getMisses : stats.getHits).increment();
            if (item == null) continue;
            value(out, item, withCas);
            lookaside.filled(t.get(i), ticket, item);
        }
        reply(out, "END");
    }

    private static void value(OutputStream out, HeapStore.Item item, boolean withCas) throws IOException {
        out.write("VALUE ".getBytes(StandardCharsets.US_ASCII));
        out.write(item.key());
        reply(out, " " + Integer.toUnsignedString(item.flags()) + " " + item.value().length + (withCas ? " " + item.cas() : ""));
        out.write(item.value());
        out.write(CRLF);
    }

    /** gat/gats exptime key...: get and touch; counted as touches, as memcached counts them. */
    private void getAndTouch(List<byte[]> t, OutputStream out, boolean withCas) throws IOException {
        if (t.size() < 2) {
            reply(out, "ERROR");
            return;
        }
        long exptime;
        try {
            exptime = Long.parseLong(text(t.get(1)));
        } catch (NumberFormatException e) {
            reply(out, "CLIENT_ERROR invalid exptime argument");
            return;
        }
        for (int i = 2; i < t.size(); i++) {
            if (!validKey(t.get(i))) {
                reply(out, BAD_FORMAT);
                return;
            }
        }
        for (int i = 2; i < t.size(); i++) {
            stats.cmdTouch.increment();
            HeapStore.Item item;
            try {
                item = store.touchAndGet(t.get(i), exptime);
            } finally {
                // a new expiry is a write: the cached copy (which never expires) must go before the answer does
                lookaside.written(t.get(i));
            }
            (item == null ? stats.touchMisses : stats.touchHits).increment();
            if (item != null) value(out, item, withCas);
        }
        reply(out, "END");
    }

    /** set/add/replace/append/prepend key flags exptime bytes [noreply]; cas key flags exptime bytes unique [noreply]. */
    private void storage(String name, List<byte[]> t, InputStream in, OutputStream out, boolean cas) throws IOException {
        int fixed = cas ? 6 : 5;
        if (t.size() < fixed || t.size() > fixed + 1) {
            reply(out, "ERROR");
            return;
        }
        byte[] key = t.get(1);
        long flags, exptime, length, unique = 0;
        try {
            flags = Long.parseLong(text(t.get(2)));
            exptime = Long.parseLong(text(t.get(3)));
            length = Long.parseLong(text(t.get(4)));
            if (cas) unique = Long.parseUnsignedLong(text(t.get(5)));
        } catch (NumberFormatException e) {
            reply(out, BAD_FORMAT);
            return;
        }
        if (!validKey(key) || flags < 0 || flags > 0xffff_ffffL || length < 0) {
            reply(out, BAD_FORMAT); // as memcached: the data block is not swallowed, it reads as a command
            return;
        }
        if (length > HeapStore.VALUE_MAX) {
            reply(out, "SERVER_ERROR object too large for cache");
            skip(in, length + 2);
            if (name.equals("set")) store.delete(key); // as memcached: a failed set leaves no stale value behind
            return;
        }
        byte[] data = in.readNBytes((int) length + 2);
        if (data.length < length + 2) throw new EOFException("input ended inside a data block");
        if (data[(int) length] != '\r' || data[(int) length + 1] != '\n') {
            reply(out, "CLIENT_ERROR bad data chunk");
            return;
        }
        byte[] value = java.util.Arrays.copyOf(data, (int) length);
        stats.cmdSet.increment();
        HeapStore.Result result = switch (name) {
            case "set" -> store.set(key, (int) flags, exptime, value);
            case "add" -> store.add(key, (int) flags, exptime, value);
            case "replace" -> store.replace(key, (int) flags, exptime, value);
            case "append" -> store.append(key, value);
            case "prepend" -> store.prepend(key, value);
            case "cas" -> store.cas(key, (int) flags, exptime, value, unique);
            default -> throw new IllegalStateException(name);
        };
        if (cas) {
            switch (result) {
                case STORED -> stats.casHits.increment();
                case EXISTS -> stats.casBadval.increment();
                case NOT_FOUND -> stats.casMisses.increment();
                default -> { }
            }
        }
        if (result == HeapStore.Result.NO_MEMORY) {
            if (name.equals("set")) store.delete(key);
            reply(out, "SERVER_ERROR out of memory storing object");
        } else if (result == HeapStore.Result.TOO_LARGE) {
            if (name.equals("set")) store.delete(key);
            reply(out, "SERVER_ERROR object too large for cache");
        } else {
            reply(out, result.name());
        }
    }

    private static void skip(InputStream in, long count) throws IOException {
        long left = count;
        while (left > 0) {
            long skipped = in.skip(left);
            if (skipped <= 0) {
                if (in.read() < 0) return;
                skipped = 1;
            }
            left -= skipped;
        }
    }

    /** delete key [0] [noreply] (memcached still accepts a zero time). */
    private void delete(List<byte[]> t, OutputStream out) throws IOException {
        if (t.size() < 2 || t.size() > 4) {
            reply(out, "ERROR");
            return;
        }
        boolean zeroTime = t.size() > 2 && text(t.get(2)).equals("0");
        boolean wellFormed = t.size() == 2 || (t.size() == 3 && (zeroTime || endsInNoreply(t)))
                || (t.size() == 4 && zeroTime && endsInNoreply(t));
        if (!wellFormed) {
            reply(out, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
            return;
        }
        if (!validKey(t.get(1))) {
            reply(out, BAD_FORMAT);
            return;
        }
        boolean deleted = store.delete(t.get(1));
        (deleted ? stats.deleteHits : stats.deleteMisses).increment();
        reply(out, deleted ? "DELETED" : "NOT_FOUND");
    }

    private void delta(boolean increment, List<byte[]> t, OutputStream out) throws IOException {
        if (t.size() < 3 || t.size() > 4) {
            reply(out, "ERROR");
            return;
        }
        if (!validKey(t.get(1))) {
            reply(out, BAD_FORMAT);
            return;
        }
        long amount;
        try {
            String digits = text(t.get(2));
            if (digits.startsWith("-") || digits.startsWith("+")) throw new NumberFormatException();
            amount = Long.parseUnsignedLong(digits);
        } catch (NumberFormatException e) {
            reply(out, "CLIENT_ERROR invalid numeric delta argument");
            return;
        }
        HeapStore.Delta result = store.delta(t.get(1), amount, increment);
        switch (result) {
            case HeapStore.Delta.Value v -> {
                (increment ? stats.incrHits : stats.decrHits).increment();
                reply(out, Long.toUnsignedString(v.value()));
            }
            case HeapStore.Delta.NotFound n -> {
                (increment ? stats.incrMisses : stats.decrMisses).increment();
                reply(out, "NOT_FOUND");
            }
            case HeapStore.Delta.NonNumeric n -> reply(out, "CLIENT_ERROR cannot increment or decrement non-numeric value");
            case HeapStore.Delta.Exists n -> throw new IllegalStateException("no CAS was given"); // only with a CAS unique
            case HeapStore.Delta.NoMemory n -> reply(out, "SERVER_ERROR out of memory");
        }
    }

    private void touch(List<byte[]> t, OutputStream out) throws IOException {
        if (t.size() < 3 || t.size() > 4) {
            reply(out, "ERROR");
            return;
        }
        long exptime;
        try {
            exptime = Long.parseLong(text(t.get(2)));
        } catch (NumberFormatException e) {
            reply(out, "CLIENT_ERROR invalid exptime argument");
            return;
        }
        if (!validKey(t.get(1))) {
            reply(out, BAD_FORMAT);
            return;
        }
        stats.cmdTouch.increment();
        boolean touched = store.touch(t.get(1), exptime);
        (touched ? stats.touchHits : stats.touchMisses).increment();
        reply(out, touched ? "TOUCHED" : "NOT_FOUND");
    }

    /** flush_all [delay] [noreply]: a delay schedules the flush. */
    private void flushAll(List<byte[]> t, OutputStream out) throws IOException {
        if (t.size() > 3) {
            reply(out, "ERROR");
            return;
        }
        long delay = 0;
        if (t.size() > (endsInNoreply(t) ? 2 : 1)) { // a delay, and after it "noreply" or a word memcached ignores
            try {
                delay = Math.max(0, Long.parseLong(text(t.get(1)))); // memcached flushes at once for a negative delay
            } catch (NumberFormatException e) {
                reply(out, "CLIENT_ERROR invalid exptime argument");
                return;
            }
        }
        stats.cmdFlush.increment();
        flushAll(store, lookaside, delay);
        reply(out, "OK");
    }

    /**
     * Flushes the store now ({@code delaySeconds} 0) or after the delay (at most 30 days), in the
     * background; the look-aside cache is emptied after the store, as after any other write.
     */
    static void flushAll(HeapStore store, LookasideCache lookaside, long delaySeconds) {
        if (delaySeconds == 0) {
            store.flushAll();
            lookaside.flushed();
            return;
        }
        long millis = Math.min(delaySeconds, HeapStore.RELATIVE_EXPTIME_MAX) * 1000;
        Thread.ofVirtual().name("memcached-flush").start(() -> {
            try {
                Thread.sleep(millis);
                store.flushAll();
                lookaside.flushed();
            } catch (InterruptedException | RuntimeException e) {
                // the server closed (and its heap with it) first
            }
        });
    }

    private void verbosity(List<byte[]> t, OutputStream out) throws IOException {
        if (t.size() < 2 || t.size() > 3) {
            reply(out, "ERROR");
            return;
        }
        try {
            Integer.parseUnsignedInt(text(t.get(1))); // a level, which changes nothing here
        } catch (NumberFormatException e) {
            reply(out, BAD_FORMAT); // "verbosity noreply" too, unheard, as in memcached
            return;
        }
        reply(out, "OK");
    }

    private void stats(List<byte[]> t, OutputStream out) throws IOException {
        if (t.size() == 2 && text(t.get(1)).equals("reset")) {
            stats.reset();
            reply(out, "RESET");
            return;
        }
        if (t.size() != 1) {
            reply(out, "ERROR");
            return;
        }
        for (var e : statistics().entrySet()) reply(out, "STAT " + e.getKey() + " " + e.getValue());
        reply(out, "END");
    }

    /** What {@code stats} reports, name → value, in memcached's order (both protocols report this). */
    Map<String, Object> statistics() {
        long now = System.currentTimeMillis();
        Map<String, Object> lines = new java.util.LinkedHashMap<>();
        lines.put("pid", ProcessHandle.current().pid());
        lines.put("uptime", (now - stats.startedMillis) / 1000);
        lines.put("time", now / 1000);
        lines.put("version", version);
        lines.put("pointer_size", 64);
        lines.put("curr_connections", stats.currConnections.sum());
        lines.put("total_connections", stats.totalConnections.sum());
        lines.put("cmd_get", stats.cmdGet.sum());
        lines.put("cmd_set", stats.cmdSet.sum());
        lines.put("cmd_flush", stats.cmdFlush.sum());
        lines.put("cmd_touch", stats.cmdTouch.sum());
        lines.put("get_hits", stats.getHits.sum());
        lines.put("get_misses", stats.getMisses.sum());
        lines.put("delete_misses", stats.deleteMisses.sum());
        lines.put("delete_hits", stats.deleteHits.sum());
        lines.put("incr_misses", stats.incrMisses.sum());
        lines.put("incr_hits", stats.incrHits.sum());
        lines.put("decr_misses", stats.decrMisses.sum());
        lines.put("decr_hits", stats.decrHits.sum());
        lines.put("cas_misses", stats.casMisses.sum());
        lines.put("cas_hits", stats.casHits.sum());
        lines.put("cas_badval", stats.casBadval.sum());
        lines.put("touch_hits", stats.touchHits.sum());
        lines.put("touch_misses", stats.touchMisses.sum());
        lines.put("udp_requests", stats.udpRequests.sum());
        lines.put("curr_items", store.currentItems());
        lines.put("total_items", store.totalItems());
        lines.put("limit_maxbytes", store.memoryLimit());
        lines.put("bytes", store.bytes());
        lines.put("evictions", store.evictions());
        lines.put("kflex_item_memory", store.memoryUsed());
        lines.putAll(extraStats.get());
        return lines;
    }
}
