package io.kflex.helpers;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Invocation;
import io.kflex.maps.Errno;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * {@code bpf_trace_printk(fmt, fmt_size, a, b, c)}: formats like Linux (the conversions
 * {@code %d %i %u %x %X %c %s %p %%} with the {@code l}/{@code ll} length modifiers, flags
 * {@code -+ 0} and a width; at most three arguments) and logs the line to a
 * {@link System.Logger} at INFO. Returns the length of the line, or {@code -EINVAL} for a format
 * Linux would refuse. Lines beyond {@code linesPerSecond} are dropped (and counted in the next
 * line that is logged), so a program printing in a hot loop cannot flood the host's log.
 */
public final class TracePrintk implements Helper {
    public static final int DEFAULT_LINES_PER_SECOND = 100;
    private static final int MAX_STRING = 256;

    private final System.Logger logger;
    private final int linesPerSecond;
    private long windowStart = System.nanoTime();
    private int linesInWindow;
    private long dropped;

    public TracePrintk(System.Logger logger, int linesPerSecond) {
        this.logger = logger;
        this.linesPerSecond = linesPerSecond;
    }

    @Override
    public long call(Invocation invocation, long fmt, long fmtSize, long a, long b, long c) {
        if (fmtSize <= 0 || fmtSize > 1024) return -Errno.EINVAL;
        byte[] bytes = invocation.memory().slice(fmt, fmtSize, false).toArray(ValueLayout.JAVA_BYTE);
        if (bytes[bytes.length - 1] != 0) return -Errno.EINVAL; // Linux requires the NUL inside fmt_size
        int end = 0;
        while (bytes[end] != 0) end++;
        String line = format(new String(bytes, 0, end, StandardCharsets.ISO_8859_1), new long[] {a, b, c}, invocation.memory());
        if (line == null) return -Errno.EINVAL;
        log(line);
        return line.length();
    }

    private synchronized void log(String line) {
        long now = System.nanoTime();
        if (now - windowStart >= 1_000_000_000L) {
            windowStart = now;
            linesInWindow = 0;
        }
        if (linesInWindow >= linesPerSecond) {
            dropped++;
            return;
        }
        linesInWindow++;
        if (dropped > 0) {
            logger.log(System.Logger.Level.INFO, "(" + dropped + " trace_printk lines dropped)");
            dropped = 0;
        }
        logger.log(System.Logger.Level.INFO, line);
    }

    /**
     * Formats {@code fmt} with {@code args} the way Linux's {@code bpf_trace_printk} does; null
     * when the format is invalid (unknown conversion, more than three arguments). {@code %s}
     * reads a NUL-terminated string from {@code memory} (at most 256 bytes).
     */
    public static String format(String fmt, long[] args, AddressSpace memory) {
        StringBuilder out = new StringBuilder();
        int next = 0;
        for (int i = 0; i < fmt.length(); i++) {
            char ch = fmt.charAt(i);
            if (ch != '%') {
                out.append(ch);
                continue;
            }
            if (++i >= fmt.length()) return null;
            if (fmt.charAt(i) == '%') {
                out.append('%');
                continue;
            }
            String flags = "";
            while (i < fmt.length() && "-+ 0".indexOf(fmt.charAt(i)) >= 0) flags += fmt.charAt(i++);
            int width = 0;
            while (i < fmt.length() && Character.isDigit(fmt.charAt(i)) && width < 1000) width = width * 10 + (fmt.charAt(i++) - '0');
            int longs = 0;
            while (i < fmt.length() && fmt.charAt(i) == 'l' && longs < 2) {
                longs++;
                i++;
            }
            if (i >= fmt.length() || next >= args.length) return null;
            char conv = fmt.charAt(i);
            long v = args[next++];
            boolean wide = longs > 0;
            boolean numeric = "diuxX".indexOf(conv) >= 0;
            if (wide && !numeric) return null;
            String text = switch (conv) {
                case 'd', 'i' -> Long.toString(wide ? v : (int) v);
                case 'u' -> Long.toUnsignedString(wide ? v : v & 0xffffffffL);
                case 'x' -> Long.toHexString(wide ? v : v & 0xffffffffL);
                case 'X' -> Long.toHexString(wide ? v : v & 0xffffffffL).toUpperCase();
                case 'c' -> String.valueOf((char) (v & 0xff));
                case 'p' -> "0x" + Long.toHexString(v);
                case 's' -> readString(memory, v);
                default -> null;
            };
            if (text == null) return null;
            if ((conv == 'd' || conv == 'i') && !text.startsWith("-")) {
                if (flags.indexOf('+') >= 0) text = "+" + text;
                else if (flags.indexOf(' ') >= 0) text = " " + text;
            }
            out.append(pad(text, width, flags.indexOf('-') >= 0, numeric && flags.indexOf('0') >= 0));
        }
        return out.toString();
    }

    /** {@code text} padded to {@code width}: on the right, with zeros after a sign, or with spaces on the left. */
    private static String pad(String text, int width, boolean left, boolean zeros) {
        if (text.length() >= width) return text;
        String fill = (zeros && !left ? "0" : " ").repeat(width - text.length());
        if (left) return text + fill;
        if (!zeros) return fill + text;
        boolean signed = text.startsWith("-") || text.startsWith("+") || text.startsWith(" ");
        return signed ? text.charAt(0) + fill + text.substring(1) : fill + text;
    }

    private static String readString(AddressSpace memory, long address) {
        StringBuilder s = new StringBuilder();
        try {
            for (int i = 0; i < MAX_STRING; i++) {
                long b = memory.load(address + i, 1);
                if (b == 0) break;
                s.append((char) b);
            }
        } catch (ExtensionFault e) {
            return s.isEmpty() ? "(efault)" : s.toString();
        }
        return s.toString();
    }
}
