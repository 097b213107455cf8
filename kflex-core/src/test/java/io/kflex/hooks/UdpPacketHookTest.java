package io.kflex.hooks;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.TestObjects;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A real UDP socket with xdp_pong at its packet hook: pings are answered by the extension, the rest by the application. */
class UdpPacketHookTest {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

    private DatagramChannel client;

    @BeforeEach
    void openClient() throws IOException {
        client = DatagramChannel.open(java.net.StandardProtocolFamily.INET).bind(LOOPBACK);
        client.socket().setSoTimeout(5000);
    }

    @AfterEach
    void closeClient() throws IOException {
        client.close();
    }

    private String exchange(InetSocketAddress server, String request) throws IOException {
        client.send(ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII)), server);
        ByteBuffer answer = ByteBuffer.allocate(2048);
        client.configureBlocking(true);
        var channel = client.socket().getChannel();
        var reader = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            SocketAddress from = reader.submit(() -> channel.receive(answer)).get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(from).isEqualTo(server);
        } catch (Exception e) {
            throw new AssertionError("no answer to '" + request + "'", e);
        } finally {
            reader.shutdownNow();
        }
        answer.flip();
        return StandardCharsets.US_ASCII.decode(answer).toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void theExtensionAnswersPingsAndTheApplicationEverythingElse(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).build();
             Extension ext = runtime.open(TestObjects.object("xdp_pong.bpf.o"));
             UdpPacketHook socket = UdpPacketHook.open(LOOPBACK, new PacketHook(), 2, (from, payload, s) ->
                     s.send(ByteBuffer.wrap(("app: " + StandardCharsets.US_ASCII.decode(payload)).getBytes(StandardCharsets.US_ASCII)), from))) {
            InetSocketAddress server = socket.localAddress();
            assertThat(exchange(server, "ping 1")).as("no program attached yet").isEqualTo("app: ping 1");

            LoadedProgram pong = ext.load("xdp_pong");
            socket.hook().attach(pong);
            assertThat(exchange(server, "ping 42")).isEqualTo("pong 42");
            assertThat(exchange(server, "hello")).isEqualTo("app: hello");
            assertThat(socket.hook().count(XdpAction.TX)).isEqualTo(1);
            assertThat(socket.hook().count(XdpAction.PASS)).as("only frames a program saw are counted").isEqualTo(1);
            assertThat(pong.stats().runCount()).isEqualTo(2);

            socket.hook().detach();
            assertThat(exchange(server, "ping 2")).as("detached").isEqualTo("app: ping 2");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void replacingTheProgramWhileTrafficFlowsLosesNoDatagram(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(1)).build();
             Extension ext = runtime.open(TestObjects.object("xdp_pong.bpf.o"));
             UdpPacketHook socket = UdpPacketHook.open(LOOPBACK, new PacketHook(), 2, (from, payload, s) ->
                     s.send(ByteBuffer.wrap(("app: " + StandardCharsets.US_ASCII.decode(payload)).getBytes(StandardCharsets.US_ASCII)), from))) {
            LoadedProgram pong = ext.load("xdp_pong");
            InetSocketAddress server = socket.localAddress();
            for (int i = 0; i < 40; i++) {
                if (i % 2 == 0) socket.hook().attach(pong);
                else socket.hook().detach();
                String answer = exchange(server, "ping " + i);
                assertThat(answer).isIn("pong " + i, "app: ping " + i);
            }
            assertThat(socket.received()).isEqualTo(40);
        }
    }
}
