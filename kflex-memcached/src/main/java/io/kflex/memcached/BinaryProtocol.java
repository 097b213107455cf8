package io.kflex.memcached;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;

/**
 * memcached's binary protocol over one request stream, answering as memcached 1.6 does (checked
 * against memcached 1.6.18): the same {@link HeapStore} as the text protocol, so items stored
 * through either are seen by both.
 *
 * <p>Every request is a 24-byte header (magic 0x80, opcode, key length, extras length, data type,
 * vbucket, total body length, opaque, CAS) and a body of extras, key and value. Every response
 * echoes the opcode and the opaque. The quiet opcodes (SETQ, GETQ, ...) send nothing on success
 * — and GETQ/GETKQ/GATQ/GATKQ nothing on a miss — so a client batches them and ends the batch
 * with a NOOP (or a GETK), whose answer tells it the batch is done; errors are always sent.
 *
 * <p>Malformed input, as memcached: a header whose key and extras do not fit in its body gets
 * "Unknown command" and the connection is closed; a key longer than 250 bytes, or lengths that
 * do not suit the opcode, get "Invalid arguments" and the connection is closed; a bad magic
 * byte closes it at once. A value larger than 1 MiB is answered "Too large." and its bytes are
 * read and dropped, never buffered; an unknown opcode is answered "Unknown command" and its body
 * is dropped the same way. The memory a request can make the server hold is thus bounded by the
 * largest valid value.
 */
final class BinaryProtocol {
    static final int REQUEST = 0x80, RESPONSE = 0x81, HEADER = 24;

    static final int GET = 0x00, SET = 0x01, ADD = 0x02, REPLACE = 0x03, DELETE = 0x04, INCREMENT = 0x05, DECREMENT = 0x06,
            QUIT = 0x07, FLUSH = 0x08, GETQ = 0x09, NOOP = 0x0a, VERSION = 0x0b, GETK = 0x0c, GETKQ = 0x0d, APPEND = 0x0e,
            PREPEND = 0x0f, STAT = 0x10, SETQ = 0x11, ADDQ = 0x12, REPLACEQ = 0x13, DELETEQ = 0x14, INCREMENTQ = 0x15,
            DECREMENTQ = 0x16, QUITQ = 0x17, FLUSHQ = 0x18, APPENDQ = 0x19, PREPENDQ = 0x1a, VERBOSITY = 0x1b, TOUCH = 0x1c,
            GAT = 0x1d, GATQ = 0x1e, SASL_LIST_MECHS = 0x20, SASL_AUTH = 0x21, SASL_STEP = 0x22, GATK = 0x23, GATKQ = 0x24;

    /** Response statuses (protocol_binary.h). */
    static final int SUCCESS = 0x00, KEY_ENOENT = 0x01, KEY_EEXISTS = 0x02, E2BIG = 0x03, EINVAL = 0x04, NOT_STORED = 0x05,
            DELTA_BADVAL = 0x06, UNKNOWN_COMMAND = 0x81, ENOMEM = 0x82, EINTERNAL = 0x84;

    /** The incr/decr expiration that means "do not create the item". */
    private static final long NO_INITIAL = 0xffff_ffffL;

    private final HeapStore store;
    private final ServerStats stats;
    private final String version;
    /** The {@code stats} lines, name → value, as the text protocol reports them. */
    private final Supplier<Map<String, Object>> statistics;
    /**
     * Told of reads and writes (the BMC-style cache), as by the text protocol: every write of a
     * key invalidates its entry after the store changed and before the answer is written, and a
     * GET may fill it. Set before the server serves.
     */
    private LookasideCache lookaside = LookasideCache.NONE;

    BinaryProtocol(HeapStore store, ServerStats stats, String version, Supplier<Map<String, Object>> statistics) {
        this.store = store;
        this.stats = stats;
        this.version = version;
        this.statistics = statistics;
    }

    void lookaside(LookasideCache cache) { this.lookaside = java.util.Objects.requireNonNull(cache); }

    /** A request header. {@code bodyLength} is unsigned 32-bit, hence a long. */
    private record Header(int opcode, int keyLength, int extrasLength, long bodyLength, int opaque, long cas) {
        static Header parse(byte[] b) {
            ByteBuffer h = ByteBuffer.wrap(b);
            return new Header(h.get(1) & 0xff, h.getShort(2) & 0xffff, h.get(4) & 0xff, h.getInt(8) & 0xffff_ffffL, h.getInt(12),
                    h.getLong(16));
        }

        long valueLength() { return bodyLength - keyLength - extrasLength; }
    }

    /** Ends the connection, after the responses written so far are flushed. */
    private static final class Close extends IOException {
        Close(String why) { super(why); }
    }

    /**
     * Serves requests from {@code in} until it ends, the client quits, or a malformed request
     * ends the connection; {@code flush} runs whenever no further request is already buffered.
     */
    void serve(InputStream in, OutputStream out, Runnable flush) throws IOException {
        try {
            while (true) {
                if (in.available() < HEADER) flush.run(); // about to wait for the client: what it is owed goes out first
                byte[] header = in.readNBytes(HEADER);
                if (header.length < HEADER) return; // the input ended (between or inside headers)
                if ((header[0] & 0xff) != REQUEST) return; // memcached drops the connection without a word
                request(Header.parse(header), in, out, flush);
            }
        } catch (Close e) {
            flush.run();
        }
    }

    private void request(Header h, InputStream in, OutputStream out, Runnable flush) throws IOException {
        if ((long) h.keyLength() + h.extrasLength() > h.bodyLength()) {
            error(out, h, UNKNOWN_COMMAND);
            throw new Close("key and extras longer than the body");
        }
        if (h.keyLength() > HeapStore.KEY_MAX) invalid(out, h);
        boolean quiet = switch (h.opcode()) {
            case SETQ, ADDQ, REPLACEQ, DELETEQ, INCREMENTQ, DECREMENTQ, QUITQ, FLUSHQ, APPENDQ, PREPENDQ, GETQ, GETKQ, GATQ,
                 GATKQ -> true;
            default -> false;
        };
        try {
            switch (h.opcode()) {
                case GET, GETQ, GETK, GETKQ -> {
                    expect(out, h, h.extrasLength() == 0 && h.keyLength() > 0 && h.bodyLength() == h.keyLength());
                    get(h, read(in, h.keyLength(), flush), null, quiet, out);
                }
                case TOUCH, GAT, GATQ, GATK, GATKQ -> {
                    expect(out, h, h.extrasLength() == 4 && h.keyLength() > 0 && h.bodyLength() == h.keyLength() + 4L);
                    long exptime = ByteBuffer.wrap(read(in, 4, flush)).getInt() & 0xffff_ffffL;
                    get(h, read(in, h.keyLength(), flush), exptime, quiet, out);
                }
                case SET, SETQ, ADD, ADDQ, REPLACE, REPLACEQ -> {
                    expect(out, h, h.extrasLength() == 8 && h.keyLength() > 0);
                    update(h, in, quiet, out, flush);
                }
                case APPEND, APPENDQ, PREPEND, PREPENDQ -> {
                    expect(out, h, h.extrasLength() == 0 && h.keyLength() > 0);
                    update(h, in, quiet, out, flush);
                }
                case DELETE, DELETEQ -> {
                    expect(out, h, h.extrasLength() == 0 && h.keyLength() > 0 && h.bodyLength() == h.keyLength());
                    delete(h, read(in, h.keyLength(), flush), quiet, out);
                }
                case INCREMENT, INCREMENTQ, DECREMENT, DECREMENTQ -> {
                    expect(out, h, h.extrasLength() == 20 && h.keyLength() > 0 && h.bodyLength() == h.keyLength() + 20L);
                    delta(h, ByteBuffer.wrap(read(in, 20, flush)), read(in, h.keyLength(), flush), quiet, out);
                }
                case FLUSH, FLUSHQ -> {
                    expect(out, h, h.keyLength() == 0 && h.bodyLength() == h.extrasLength()
                            && (h.extrasLength() == 0 || h.extrasLength() == 4));
                    long delay = h.extrasLength() == 4 ? ByteBuffer.wrap(read(in, 4, flush)).getInt() & 0xffff_ffffL : 0;
                    stats.cmdFlush.increment();
                    TextProtocol.flushAll(store, lookaside, delay);
                    if (!quiet) respond(out, h, SUCCESS, 0, null, null, null);
                }
                case NOOP -> {
                    expect(out, h, h.bodyLength() == 0);
                    respond(out, h, SUCCESS, 0, null, null, null);
                }
                case VERSION -> {
                    expect(out, h, h.bodyLength() == 0);
                    respond(out, h, SUCCESS, 0, null, null, version.getBytes(StandardCharsets.US_ASCII));
                }
                case QUIT, QUITQ -> {
                    expect(out, h, h.bodyLength() == 0);
                    if (!quiet) respond(out, h, SUCCESS, 0, null, null, null);
                    throw new Close("quit");
                }
                case STAT -> {
                    expect(out, h, h.extrasLength() == 0 && h.bodyLength() == h.keyLength());
                    stat(h, read(in, h.keyLength(), flush), out);
                }
                case SASL_LIST_MECHS -> {
                    // memcached without SASL support: a well-formed request is an unknown command
                    expect(out, h, h.bodyLength() == 0);
                    error(out, h, UNKNOWN_COMMAND);
                }
                case SASL_AUTH, SASL_STEP -> {
                    expect(out, h, h.extrasLength() == 0 && h.keyLength() > 0);
                    error(out, h, UNKNOWN_COMMAND);
                    skip(in, h.bodyLength(), out, flush);
                }
                default -> { // VERBOSITY included: memcached 1.6 no longer knows it in the binary protocol
                    error(out, h, UNKNOWN_COMMAND);
                    skip(in, h.bodyLength(), out, flush);
                }
            }
        } catch (UncheckedIOException e) {
            throw e; // the client went away while its answers were flushed
        } catch (RuntimeException e) {
            // A fault of the server (e.g. the heap refused an access): the client gets an answer, not a hang. Part of
            // the request's body may be unread, so the stream cannot be trusted further: the connection ends.
            respond(out, h, EINTERNAL, 0, null, null, String.valueOf(e.getMessage()).getBytes(StandardCharsets.ISO_8859_1));
            throw new Close("internal error");
        }
    }

    /** Lengths that do not suit the opcode: "Invalid arguments", and the connection ends. */
    private static void expect(OutputStream out, Header h, boolean wellFormed) throws IOException {
        if (!wellFormed) invalid(out, h);
    }

    private static void invalid(OutputStream out, Header h) throws IOException {
        error(out, h, EINVAL);
        throw new Close("invalid arguments");
    }

    private void get(Header h, byte[] key, Long touchExptime, boolean quiet, OutputStream out) throws IOException {
        boolean touch = touchExptime != null;
        boolean withKey = h.opcode() == GETK || h.opcode() == GETKQ || h.opcode() == GATK || h.opcode() == GATKQ;
        HeapStore.Item item;
        long ticket = -1;
        if (touch) {
            stats.cmdTouch.increment();
            try {
                item = store.touchAndGet(key, touchExptime);
            } finally {
                lookaside.written(key); // a new expiry is a write: the cached copy (which never expires) goes
            }
            (item != null ? stats.touchHits : stats.touchMisses).increment();
        } else {
            stats.cmdGet.increment();
            ticket = lookaside.ticket(key);
            item = store.get(key);
        }
        if (item == null) {
            if (quiet) return;
            if (withKey) respond(out, h, KEY_ENOENT, 0, null, key, null);
            else error(out, h, KEY_ENOENT);
            return;
        }
        byte[] flags = ByteBuffer.allocate(4).putInt(item.flags()).array();
        respond(out, h, SUCCESS, item.cas(), flags, withKey ? key : null, h.opcode() == TOUCH ? null : item.value());
        if (!touch) lookaside.filled(key, ticket, item); // as a text GET fills: the cache answers text GETs at the hook
    }

    /** set/add/replace (extras: flags, expiration) and append/prepend (no extras), each with an optional CAS. */
    private void update(Header h, InputStream in, boolean quiet, OutputStream out, Runnable flush) throws IOException {
        byte[] extras = read(in, h.extrasLength(), flush);
        byte[] key = read(in, h.keyLength(), flush);
        long length = h.valueLength();
        int base = switch (h.opcode()) {
            case SETQ -> SET;
            case ADDQ -> ADD;
            case REPLACEQ -> REPLACE;
            case APPENDQ -> APPEND;
            case PREPENDQ -> PREPEND;
            default -> h.opcode();
        };
        if (length > HeapStore.VALUE_MAX) {
            if (base == SET) store.delete(key); // as memcached: a failed set leaves no stale value behind
            lookaside.written(key);
            error(out, h, E2BIG);
            skip(in, length, out, flush);
            return;
        }
        byte[] value = read(in, (int) length, flush);
        stats.cmdSet.increment();
        HeapStore.Mode mode = switch (base) {
            case APPEND -> HeapStore.Mode.APPEND;
            case PREPEND -> HeapStore.Mode.PREPEND;
            // any of set/add/replace with a CAS unique is a compare-and-swap, as in memcached
            case SET -> h.cas() != 0 ? HeapStore.Mode.CAS : HeapStore.Mode.SET;
            case ADD -> h.cas() != 0 ? HeapStore.Mode.CAS : HeapStore.Mode.ADD;
            default -> h.cas() != 0 ? HeapStore.Mode.CAS : HeapStore.Mode.REPLACE;
        };
        ByteBuffer e = ByteBuffer.wrap(extras);
        int flags = extras.length == 8 ? e.getInt(0) : 0;
        long exptime = extras.length == 8 ? e.getInt(4) & 0xffff_ffffL : 0;
        HeapStore.Stored stored;
        try {
            stored = store.store(mode, key, flags, exptime, value, h.cas());
            if ((stored.result() == HeapStore.Result.TOO_LARGE || stored.result() == HeapStore.Result.NO_MEMORY) && mode == HeapStore.Mode.SET) {
                store.delete(key); // as memcached: a failed set leaves no stale value behind
            }
        } finally {
            lookaside.written(key);
        }
        if (mode == HeapStore.Mode.CAS) {
            switch (stored.result()) {
                case STORED -> stats.casHits.increment();
                case EXISTS -> stats.casBadval.increment();
                case NOT_FOUND -> stats.casMisses.increment();
                default -> { }
            }
        }
        switch (stored.result()) {
            case STORED -> { if (!quiet) respond(out, h, SUCCESS, stored.cas(), null, null, null); }
            case EXISTS -> error(out, h, KEY_EEXISTS);
            case NOT_FOUND -> error(out, h, KEY_ENOENT);
            // memcached answers a failed add "exists", a failed replace "not found"
            case NOT_STORED -> error(out, h, mode == HeapStore.Mode.ADD ? KEY_EEXISTS : mode == HeapStore.Mode.REPLACE ? KEY_ENOENT : NOT_STORED);
            case TOO_LARGE, NO_MEMORY -> error(out, h, stored.result() == HeapStore.Result.TOO_LARGE ? E2BIG : ENOMEM);
            case DELETED -> throw new IllegalStateException("a store does not delete");
        }
    }

    private void delete(Header h, byte[] key, boolean quiet, OutputStream out) throws IOException {
        HeapStore.Result result;
        try {
            result = store.delete(key, h.cas());
        } finally {
            lookaside.written(key);
        }
        (result == HeapStore.Result.DELETED ? stats.deleteHits : stats.deleteMisses).increment();
        switch (result) {
            case DELETED -> { if (!quiet) respond(out, h, SUCCESS, 0, null, null, null); }
            case EXISTS -> error(out, h, KEY_EEXISTS);
            default -> error(out, h, KEY_ENOENT);
        }
    }

    /** incr/decr; extras: delta, initial value, expiration (0xffffffff: fail rather than create). */
    private void delta(Header h, ByteBuffer extras, byte[] key, boolean quiet, OutputStream out) throws IOException {
        boolean increment = h.opcode() == INCREMENT || h.opcode() == INCREMENTQ;
        long amount = extras.getLong(0), initial = extras.getLong(8), exptime = extras.getInt(16) & 0xffff_ffffL;
        HeapStore.Delta result;
        try {
            result = store.delta(key, amount, increment, h.cas(), exptime == NO_INITIAL ? null : initial, exptime == NO_INITIAL ? 0 : exptime);
        } finally {
            lookaside.written(key);
        }
        switch (result) {
            case HeapStore.Delta.Value v -> {
                (increment ? stats.incrHits : stats.decrHits).increment();
                if (!quiet) respond(out, h, SUCCESS, v.cas(), null, null, ByteBuffer.allocate(8).putLong(v.value()).array());
            }
            case HeapStore.Delta.NotFound n -> {
                (increment ? stats.incrMisses : stats.decrMisses).increment();
                error(out, h, KEY_ENOENT);
            }
            case HeapStore.Delta.Exists n -> error(out, h, KEY_EEXISTS);
            case HeapStore.Delta.NonNumeric n -> error(out, h, DELTA_BADVAL);
            case HeapStore.Delta.NoMemory n -> error(out, h, ENOMEM);
        }
    }

    /** All statistics (empty key) or "reset", each as a response with key and value, then an empty one. */
    private void stat(Header h, byte[] key, OutputStream out) throws IOException {
        String group = new String(key, StandardCharsets.ISO_8859_1);
        switch (group) {
            case "" -> {
                for (var e : statistics.get().entrySet()) {
                    respond(out, h, SUCCESS, 0, null, e.getKey().getBytes(StandardCharsets.ISO_8859_1),
                            String.valueOf(e.getValue()).getBytes(StandardCharsets.ISO_8859_1));
                }
            }
            case "reset" -> stats.reset();
            default -> {
                error(out, h, KEY_ENOENT);
                return;
            }
        }
        respond(out, h, SUCCESS, 0, null, null, null);
    }

    /** An error response whose body is memcached's message for the status. */
    private static void error(OutputStream out, Header h, int status) throws IOException {
        String message = switch (status) {
            case KEY_ENOENT -> "Not found";
            case KEY_EEXISTS -> "Data exists for key.";
            case E2BIG -> "Too large.";
            case EINVAL -> "Invalid arguments";
            case NOT_STORED -> "Not stored.";
            case DELTA_BADVAL -> "Non-numeric server-side value for incr or decr";
            case UNKNOWN_COMMAND -> "Unknown command";
            case ENOMEM -> "Out of memory";
            default -> "UNHANDLED ERROR";
        };
        respond(out, h, status, 0, null, null, message.getBytes(StandardCharsets.US_ASCII));
    }

    private static void respond(OutputStream out, Header h, int status, long cas, byte[] extras, byte[] key, byte[] value)
            throws IOException {
        int extrasLength = extras == null ? 0 : extras.length, keyLength = key == null ? 0 : key.length;
        int valueLength = value == null ? 0 : value.length;
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        header.put((byte) RESPONSE).put((byte) h.opcode()).putShort((short) keyLength).put((byte) extrasLength).put((byte) 0)
                .putShort((short) status).putInt(extrasLength + keyLength + valueLength).putInt(h.opaque()).putLong(cas);
        out.write(header.array());
        if (extras != null) out.write(extras);
        if (key != null) out.write(key);
        if (value != null) out.write(value);
    }

    /** Exactly {@code length} body bytes; the answers written so far go out first if they are not all here yet. */
    private static byte[] read(InputStream in, int length, Runnable flush) throws IOException {
        if (in.available() < length) flush.run();
        byte[] b = in.readNBytes(length);
        if (b.length < length) throw new EOFException("input ended inside a request body");
        return b;
    }

    /**
     * Drops {@code count} body bytes without keeping them. The answer already written goes out
     * first, so a client that announced a huge body learns at once that it was refused.
     */
    private static void skip(InputStream in, long count, OutputStream out, Runnable flush) throws IOException {
        flush.run();
        long left = count;
        byte[] sink = new byte[8192];
        while (left > 0) {
            int n = in.read(sink, 0, (int) Math.min(sink.length, left));
            if (n < 0) throw new EOFException("input ended inside a request body");
            left -= n;
        }
    }
}
