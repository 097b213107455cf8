package io.kflex.memcached;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.hooks.XdpAction;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The text protocol over TCP and UDP, answered by Java (no offload), through raw sockets. */
@Timeout(60)
class TextProtocolTest {
    @RegisterExtension
    static final LoopbackServer SERVER = new LoopbackServer();

    private static McClient client() throws Exception {
        return new McClient(SERVER.get().tcpAddress());
    }

    @Test
    void storageCommandsAndTheirAnswers() throws Exception {
        try (McClient c = client()) {
            assertThat(c.call("set a 42 0 5\r\nhello\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("get a\r\n")).isEqualTo("VALUE a 42 5\nhello\nEND\n");
            assertThat(c.call("add a 0 0 1\r\nx\r\n")).isEqualTo("NOT_STORED");
            assertThat(c.call("add b 0 0 1\r\nx\r\n")).isEqualTo("STORED");
            assertThat(c.call("replace nope 0 0 1\r\nx\r\n")).isEqualTo("NOT_STORED");
            assertThat(c.call("replace b 7 0 2\r\nyz\r\n")).isEqualTo("STORED");
            assertThat(c.call("append b 0 0 2\r\n!!\r\n")).isEqualTo("STORED");
            assertThat(c.call("prepend b 0 0 2\r\n<<\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("get b\r\n")).as("append/prepend keep the flags").isEqualTo("VALUE b 7 6\n<<yz!!\nEND\n");
            assertThat(c.call("append nope 0 0 1\r\nx\r\n")).isEqualTo("NOT_STORED");
            assertThat(c.untilEnd("get a nope b\r\n")).isEqualTo("VALUE a 42 5\nhello\nVALUE b 7 6\n<<yz!!\nEND\n");
            assertThat(c.call("set flags 4294967295 0 0\r\n\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("get flags\r\n")).as("flags are 32-bit unsigned, an empty value is fine").isEqualTo("VALUE flags 4294967295 0\n\nEND\n");
            assertThat(c.call("set flags 4294967296 0 0\r\n")).as("flags beyond 32 bits").isEqualTo("CLIENT_ERROR bad command line format");
            assertThat(c.call("set bin 0 0 4\r\n\r\n\0\n\r\n")).as("values are binary-safe").isEqualTo("STORED");
            assertThat(c.call("get bin\r\n")).isEqualTo("VALUE bin 0 4");
            assertThat(c.read(6)).isEqualTo("\r\n\0\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertThat(c.line()).isEqualTo("END");
        }
    }

    @Test
    void casGetsDeleteIncrDecrTouch() throws Exception {
        try (McClient c = client()) {
            c.call("set cas 0 0 1\r\na\r\n");
            String gets = c.untilEnd("gets cas\r\n");
            long unique = Long.parseLong(gets.lines().findFirst().orElseThrow().split(" ")[4]);
            assertThat(c.call("cas cas 0 0 1 " + (unique + 1000) + "\r\nb\r\n")).isEqualTo("EXISTS");
            assertThat(c.call("cas cas 0 0 1 " + unique + "\r\nb\r\n")).isEqualTo("STORED");
            assertThat(c.call("cas cas 0 0 1 " + unique + "\r\nc\r\n")).as("the unique changed").isEqualTo("EXISTS");
            assertThat(c.call("cas missing 0 0 1 1\r\nc\r\n")).isEqualTo("NOT_FOUND");
            assertThat(c.untilEnd("get cas\r\n")).isEqualTo("VALUE cas 0 1\nb\nEND\n");

            assertThat(c.call("delete cas\r\n")).isEqualTo("DELETED");
            assertThat(c.call("delete cas\r\n")).isEqualTo("NOT_FOUND");
            assertThat(c.call("delete\r\n")).isEqualTo("ERROR");

            c.call("set n 0 0 2\r\n10\r\n");
            assertThat(c.call("incr n 5\r\n")).isEqualTo("15");
            assertThat(c.call("decr n 100\r\n")).as("decr floors at 0").isEqualTo("0");
            c.call("set big 0 0 20\r\n18446744073709551615\r\n");
            assertThat(c.call("incr big 2\r\n")).as("incr wraps at 2^64").isEqualTo("1");
            assertThat(c.call("incr nope 1\r\n")).isEqualTo("NOT_FOUND");
            assertThat(c.call("incr n abc\r\n")).isEqualTo("CLIENT_ERROR invalid numeric delta argument");
            assertThat(c.call("incr n -1\r\n")).isEqualTo("CLIENT_ERROR invalid numeric delta argument");
            c.call("set word 0 0 3\r\nabc\r\n");
            assertThat(c.call("incr word 1\r\n")).isEqualTo("CLIENT_ERROR cannot increment or decrement non-numeric value");

            assertThat(c.call("touch n 100\r\n")).isEqualTo("TOUCHED");
            assertThat(c.call("touch nope 100\r\n")).isEqualTo("NOT_FOUND");
            assertThat(c.call("touch n -1\r\n")).isEqualTo("TOUCHED");
            assertThat(c.untilEnd("get n\r\n")).as("a negative exptime expires at once").isEqualTo("END\n");
        }
    }

    @Test
    void getAndTouch() throws Exception {
        try (McClient c = client()) {
            assertThat(c.call("set gt 3 0 5\r\nhello\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("gat 100 gt\r\n")).isEqualTo("VALUE gt 3 5\nhello\nEND\n");
            String gats = c.untilEnd("gats 100 gt gt-none gt\r\n");
            assertThat(gats).matches("VALUE gt 3 5 \\d+\nhello\nVALUE gt 3 5 \\d+\nhello\nEND\n");
            assertThat(c.call("gat\r\n")).isEqualTo("ERROR");
            assertThat(c.call("gat 100\r\n")).as("no key: nothing found").isEqualTo("END");
            assertThat(c.call("gat abc gt\r\n")).isEqualTo("CLIENT_ERROR invalid exptime argument");
            assertThat(c.call("gat 0 " + "k".repeat(251) + "\r\n")).isEqualTo("CLIENT_ERROR bad command line format");
            assertThat(c.untilEnd("gat -1 gt\r\n")).as("returned, then expired").isEqualTo("VALUE gt 3 5\nhello\nEND\n");
            assertThat(c.untilEnd("get gt\r\n")).isEqualTo("END\n");
        }
    }

    @Test
    void expirationTimes() throws Exception {
        try (McClient c = client()) {
            assertThat(c.call("set neg 0 -1 1\r\nx\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("get neg\r\n")).as("negative: expired at once").isEqualTo("END\n");
            assertThat(c.call("set past 0 1000000000 1\r\nx\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("get past\r\n")).as("an absolute time in the past").isEqualTo("END\n");
            long future = System.currentTimeMillis() / 1000 + 3600;
            assertThat(c.call("set future 0 " + future + " 1\r\nx\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("get future\r\n")).isEqualTo("VALUE future 0 1\nx\nEND\n");
            assertThat(c.call("set soon 0 1 1\r\nx\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("get soon\r\n")).isEqualTo("VALUE soon 0 1\nx\nEND\n");
            Thread.sleep(2100);
            assertThat(c.untilEnd("get soon\r\n")).as("relative: gone after its seconds").isEqualTo("END\n");
            assertThat(c.call("add soon 0 0 1\r\ny\r\n")).as("an expired item does not block add").isEqualTo("STORED");
        }
    }

    @Test
    void keyAndValueLimitsAndNoreply() throws Exception {
        try (McClient c = client()) {
            String key250 = "k".repeat(250);
            assertThat(c.call("set " + key250 + " 0 0 1\r\nx\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("get " + key250 + "\r\n")).isEqualTo("VALUE " + key250 + " 0 1\nx\nEND\n");
            assertThat(c.call("set " + key250 + "k 0 0 1\r\nx\r\n")).isEqualTo("CLIENT_ERROR bad command line format");
            assertThat(c.line()).isEqualTo("ERROR");
            assertThat(c.call("get " + key250 + "k\r\n")).isEqualTo("CLIENT_ERROR bad command line format");
            assertThat(c.call("get a\u0001b\r\n")).as("control characters").isEqualTo("CLIENT_ERROR bad command line format");

            byte[] mib = new byte[1 << 20];
            new Random(1).nextBytes(mib);
            c.send("set mib 3 0 " + mib.length + "\r\n").send(mib).send("\r\n");
            assertThat(c.line()).as("1 MiB is the largest value").isEqualTo("STORED");
            c.send("get mib\r\n");
            assertThat(c.line()).isEqualTo("VALUE mib 3 " + mib.length);
            assertThat(c.read(mib.length)).isEqualTo(mib);
            assertThat(c.line()).isEmpty();
            assertThat(c.line()).isEqualTo("END");

            c.send("set huge 0 0 " + (mib.length + 1) + "\r\n").send(new byte[mib.length + 1]).send("\r\n");
            assertThat(c.line()).isEqualTo("SERVER_ERROR object too large for cache");
            assertThat(c.call("version\r\n")).as("the oversized data was swallowed").startsWith("VERSION ");

            assertThat(c.call("set q 0 0 1 noreply\r\nx\r\nget q\r\n")).as("noreply: no STORED").isEqualTo("VALUE q 0 1");
            assertThat(c.line()).isEqualTo("x");
            assertThat(c.line()).isEqualTo("END");
            assertThat(c.call("delete q noreply\r\nincr nope 1 noreply\r\nflush_all noreply\r\nversion\r\n")).startsWith("VERSION ");
        }
    }

    /**
     * memcached 1.6.18 answers nothing at all to a command ending in noreply, errors included
     * (checked against it request by request): a client that asked for no answer reads none, so
     * an error line would be taken for the answer to its next request.
     */
    @Test
    void noreplySilencesErrorsTooAsInMemcached() throws Exception {
        try (McClient c = client()) {
            c.call("set word 0 0 3\r\nabc\r\n");
            byte[] tooLarge = new byte[(1 << 20) + 1];
            c.send("set nr 0 0 " + tooLarge.length + " noreply\r\n").send(tooLarge).send("\r\n");
            c.send("incr word 1 noreply\r\n"); // non-numeric
            c.send("incr word x noreply\r\n"); // invalid delta
            c.send("incr word noreply\r\n"); // the delta is "noreply"
            c.send("touch word x noreply\r\n");
            c.send("touch " + "k".repeat(251) + " 1 noreply\r\n");
            c.send("delete word 5 noreply\r\n");
            c.send("flush_all x noreply\r\n");
            c.send("verbosity x noreply\r\n");
            c.send("set k 0 0 noreply\r\n");
            assertThat(c.call("version\r\n")).as("not one error line").startsWith("VERSION ");
            assertThat(c.untilEnd("get word nr\r\n")).isEqualTo("VALUE word 0 3\nabc\nEND\n");

            // The data block of a refused request is not swallowed: it reads as a command (ERROR), as in memcached.
            assertThat(c.call("set k x 0 1 noreply\r\nx\r\n")).isEqualTo("ERROR");
            assertThat(c.call("set k 0 0 1 noreply\r\nxyz\r\n")).as("a bad chunk: silent, then the line end is an empty command").isEqualTo("ERROR");
            // noreply applies only where the command takes it, in the last place, with a count of tokens the command accepts
            assertThat(c.call("set k 0 0 1 noreply extra\r\nx\r\n")).isEqualTo("ERROR");
            assertThat(c.line()).isEqualTo("ERROR");
            assertThat(c.call("delete k noreply extra\r\n")).startsWith("CLIENT_ERROR bad command line format");
            assertThat(c.call("delete noreply\r\n")).as("the key \"noreply\"").isEqualTo("NOT_FOUND");
            assertThat(c.call("incr k 1 2 noreply\r\n")).isEqualTo("ERROR");
            assertThat(c.untilEnd("get word noreply\r\n")).as("get takes no noreply").isEqualTo("VALUE word 0 3\nabc\nEND\n");
            // In noreply's place memcached ignores any other word.
            assertThat(c.call("set k 0 0 1 NOREPLY\r\nx\r\n")).isEqualTo("STORED");
            assertThat(c.call("touch k 100 please\r\n")).isEqualTo("TOUCHED");
            assertThat(c.call("delete k 0 please\r\n")).startsWith("CLIENT_ERROR bad command line format");
            assertThat(c.call("verbosity 1 please\r\n")).isEqualTo("OK");
            assertThat(c.call("verbosity x\r\n")).isEqualTo("CLIENT_ERROR bad command line format");
        }
    }

    @Test
    void errorsAndMalformedInputNeverStopTheServer() throws Exception {
        try (McClient c = client()) {
            assertThat(c.call("bogus\r\n")).isEqualTo("ERROR");
            assertThat(c.call("\r\n")).isEqualTo("ERROR");
            assertThat(c.call("get\r\n")).isEqualTo("ERROR");
            assertThat(c.call("set x 0 0\r\n")).isEqualTo("ERROR");
            assertThat(c.call("set x abc 0 1\r\n")).isEqualTo("CLIENT_ERROR bad command line format");
            assertThat(c.call("set x 0 0 -1\r\n")).isEqualTo("CLIENT_ERROR bad command line format");
            assertThat(c.call("set x 0 0 3\r\nabcdef\r\n")).isEqualTo("CLIENT_ERROR bad data chunk");
            assertThat(c.line()).as("what follows the 5 bytes read is a command, as in memcached").isEqualTo("ERROR");
            assertThat(c.call("version\r\n")).startsWith("VERSION ");
            assertThat(c.call("set " + "k".repeat(251) + " 0 0 1\r\nx\r\n")).isEqualTo("CLIENT_ERROR bad command line format");
            assertThat(c.line()).as("the data line is not swallowed, as in memcached").isEqualTo("ERROR");
            assertThat(c.call("flush_all abc\r\n")).isEqualTo("CLIENT_ERROR invalid exptime argument");
            assertThat(c.call("touch n abc\r\n")).isEqualTo("CLIENT_ERROR invalid exptime argument");
            assertThat(c.call("delete x 1\r\n")).startsWith("CLIENT_ERROR bad command line format");
            assertThat(c.call("verbosity 1\r\n")).isEqualTo("OK");
            assertThat(c.call("verbosity\r\n")).isEqualTo("ERROR");
            assertThat(c.untilEnd("stats\r\n")).contains("STAT curr_items ", "STAT kflex_offload off", "STAT get_hits ");
            assertThat(c.call("stats nonsense\r\n")).isEqualTo("ERROR");
        }
        // random garbage on many connections, then a well-behaved client is still served
        Random random = new Random(42);
        for (int i = 0; i < 20; i++) {
            try (McClient c = client()) {
                byte[] junk = new byte[random.nextInt(5000)];
                random.nextBytes(junk);
                c.send(junk);
                if (random.nextBoolean()) c.send("\r\nset junk 0 0 100000\r\nshort\r\n");
            }
        }
        try (McClient c = client()) {
            c.send(("get " + "x".repeat(TextProtocol.LINE_MAX + 10)).getBytes(StandardCharsets.US_ASCII));
            assertThat(c.line()).isEqualTo("CLIENT_ERROR line too long");
            assertThat(c.closedByServer()).isTrue();
        }
        try (McClient c = client()) {
            assertThat(c.call("set after 0 0 2\r\nok\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("get after\r\n")).isEqualTo("VALUE after 0 2\nok\nEND\n");
            c.send("quit\r\n");
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void flushAllRemovesEverythingAndAcceptsADelay() throws Exception {
        try (McClient c = client()) {
            c.call("set f1 0 0 1\r\nx\r\n");
            assertThat(c.call("flush_all\r\n")).isEqualTo("OK");
            assertThat(c.untilEnd("get f1\r\n")).isEqualTo("END\n");
            c.call("set f2 0 0 1\r\nx\r\n");
            assertThat(c.call("flush_all 1\r\n")).isEqualTo("OK");
            assertThat(c.untilEnd("get f2\r\n")).as("not yet").isEqualTo("VALUE f2 0 1\nx\nEND\n");
            Thread.sleep(1600);
            assertThat(c.untilEnd("get f2\r\n")).isEqualTo("END\n");
        }
    }

    @Test
    void udpRequestsAreAnsweredByJavaWithoutAnOffload() throws Exception {
        var udp = SERVER.get().udpAddress().orElseThrow();
        try (McClient c = client()) {
            c.call("set u 5 0 3\r\nabc\r\n");
        }
        byte[][] r = McClient.udp(udp, 7, "get u\r\n", 1);
        assertThat(header(r[0])).containsExactly(7, 0, 1, 0);
        assertThat(body(r[0])).isEqualTo("VALUE u 5 3\r\nabc\r\nEND\r\n");
        assertThat(body(McClient.udp(udp, 8, "set v 0 0 2\r\nhi\r\n", 1)[0])).isEqualTo("STORED\r\n");
        try (McClient c = client()) {
            assertThat(c.untilEnd("get v\r\n")).as("set over UDP, read over TCP").isEqualTo("VALUE v 0 2\nhi\nEND\n");
        }
        // a response larger than a datagram comes in several, numbered, each with the request id
        byte[] value = new byte[5000];
        java.util.Arrays.fill(value, (byte) 'z');
        try (McClient c = client()) {
            c.send("set large 0 0 5000\r\n").send(value).send("\r\n");
            assertThat(c.line()).isEqualTo("STORED");
        }
        byte[][] parts = McClient.udp(udp, 9, "get large\r\n", 4);
        StringBuilder joined = new StringBuilder();
        java.util.Arrays.sort(parts, java.util.Comparator.comparingInt(p -> header(p)[1]));
        for (int i = 0; i < parts.length; i++) {
            assertThat(header(parts[i])).containsExactly(9, i, 4, 0);
            assertThat(parts[i].length).isLessThanOrEqualTo(MemcachedServer.UDP_MAX_PAYLOAD);
            joined.append(body(parts[i]));
        }
        assertThat(joined.toString()).isEqualTo("VALUE large 0 5000\r\n" + "z".repeat(5000) + "\r\nEND\r\n");
        assertThat(SERVER.get().hook().orElseThrow().count(XdpAction.TX)).as("no offload, nothing at the hook").isZero();
    }

    static int[] header(byte[] datagram) {
        var b = java.nio.ByteBuffer.wrap(datagram);
        return new int[] {b.getShort(0) & 0xffff, b.getShort(2) & 0xffff, b.getShort(4) & 0xffff, b.getShort(6) & 0xffff};
    }

    static String body(byte[] datagram) {
        return new String(datagram, 8, datagram.length - 8, StandardCharsets.ISO_8859_1);
    }
}
