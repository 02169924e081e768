package io.ringkv.faults;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP proxy in front of one node that can hold every chunk of bytes, in each direction, for a
 * random delay in [min, max] ms before passing it on (the order of a stream is kept). With a delay of
 * 0 it passes bytes straight through. The node advertises the proxy's address, so every call another
 * node makes to it (replication, forwarding, view pushes) goes through here; there is no {@code tc
 * netem} on the machine.
 */
final class DelayProxy implements AutoCloseable {
  private final ServerSocket server;
  private final String targetHost;
  private final int targetPort;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private volatile int minMs;
  private volatile int maxMs;
  private volatile boolean closed;
  /** Cut: every connection is closed, and a new one is accepted and closed at once. */
  private volatile boolean cut;
  final AtomicLong connections = new AtomicLong();
  final AtomicLong delayedChunks = new AtomicLong();

  DelayProxy(String bindHost, String targetHost, int targetPort) throws IOException {
    this.server = new ServerSocket(0, 128, InetAddress.getByName(bindHost));
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.acceptor = new Thread(this::acceptLoop, "delay-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** From now on, hold each chunk for a random [minMs, maxMs] in each direction (0, 0: no delay). */
  void setDelay(int minMs, int maxMs) {
    this.minMs = minMs;
    this.maxMs = maxMs;
  }

  /** Cuts (or heals) the path: while cut, no byte gets through, and the connections it had are gone. */
  void setCut(boolean cut) {
    this.cut = cut;
    if (cut) for (Socket s : open) closeQuietly(s);
  }

  private void acceptLoop() {
    while (!closed) {
      Socket in;
      try {
        in = server.accept();
      } catch (IOException e) {
        if (closed) return;
        continue;
      }
      if (cut) {
        closeQuietly(in);
        continue;
      }
      Socket out = new Socket();
      try {
        in.setTcpNoDelay(true);
        out.setTcpNoDelay(true);
        out.connect(new InetSocketAddress(targetHost, targetPort), 1000);
      } catch (IOException e) {
        closeQuietly(in);
        closeQuietly(out);
        continue;
      }
      connections.incrementAndGet();
      open.add(in);
      open.add(out);
      pipe(in, out, "up");
      pipe(out, in, "down");
    }
  }

  private record Chunk(long releaseNanos, byte[] bytes) {}

  private static final Chunk EOF = new Chunk(0, null);

  /** One direction: a reader that stamps each chunk with its release time, a writer that waits for it. */
  private void pipe(Socket from, Socket to, String dir) {
    BlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      long lastRelease = 0;
      byte[] buf = new byte[16 * 1024];
      try {
        InputStream is = from.getInputStream();
        int n;
        while ((n = is.read(buf)) >= 0) {
          int lo = minMs;
          int hi = maxMs;
          long delay = hi <= 0 ? 0
              : TimeUnit.MILLISECONDS.toNanos(lo + ThreadLocalRandom.current().nextInt(Math.max(1, hi - lo + 1)));
          if (delay > 0) delayedChunks.incrementAndGet();
          long release = Math.max(lastRelease, System.nanoTime() + delay);   // never overtake an earlier chunk
          lastRelease = release;
          queue.add(new Chunk(release, Arrays.copyOf(buf, n)));
        }
      } catch (IOException e) {
        // the connection is gone: the writer closes both ends
      }
      queue.add(EOF);
    }, "delay-proxy-" + dir + "-read");
    Thread writer = new Thread(() -> {
      try {
        OutputStream os = to.getOutputStream();
        while (true) {
          Chunk c = queue.take();
          if (c == EOF) {
            to.shutdownOutput();
            break;
          }
          long wait;
          while ((wait = c.releaseNanos() - System.nanoTime()) > 0) LockSupport.parkNanos(wait);
          os.write(c.bytes());
          os.flush();
        }
      } catch (IOException | InterruptedException e) {
        closeQuietly(from);
        closeQuietly(to);
      }
      maybeClose(from, to);
    }, "delay-proxy-" + dir + "-write");
    reader.setDaemon(true);
    writer.setDaemon(true);
    reader.start();
    writer.start();
  }

  /** Both directions are done once each socket's output is shut: then the sockets are closed. */
  private void maybeClose(Socket a, Socket b) {
    if ((a.isClosed() || a.isOutputShutdown()) && (b.isClosed() || b.isOutputShutdown())) {
      closeQuietly(a);
      closeQuietly(b);
    }
  }

  private void closeQuietly(Socket s) {
    open.remove(s);
    try {
      s.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Socket s : open) closeQuietly(s);
  }
}
