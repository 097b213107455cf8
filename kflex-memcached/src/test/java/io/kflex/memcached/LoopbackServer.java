package io.kflex.memcached;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A memcached server on loopback (the Java store, no offload) for one test class: started before
 * its first test, closed after its last. Register it as
 * {@code @RegisterExtension static final LoopbackServer SERVER = new LoopbackServer();}.
 */
final class LoopbackServer implements BeforeAllCallback, AfterAllCallback {
    private MemcachedServer server;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        server = MemcachedServer.start(MemcachedServer.Config.loopback());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (server != null) server.close();
        server = null;
    }

    /** The running server. */
    MemcachedServer get() {
        if (server == null) throw new IllegalStateException("the loopback server runs only while its test class does");
        return server;
    }
}
