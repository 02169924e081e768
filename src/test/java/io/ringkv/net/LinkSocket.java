package io.ringkv.net;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.Socket;
import org.apache.pekko.util.ByteString;

/** A blocking test client of a worker's node-to-node link: a hello, then one call and its answer at a time. */
public final class LinkSocket implements AutoCloseable {
  private final Socket socket;
  private final DataOutputStream out;
  private final DataInputStream in;
  private int ids;

  public LinkSocket(int port, String clusterToken, String apiToken) throws Exception {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(10_000);   // a read that waits longer fails the test
    out = new DataOutputStream(socket.getOutputStream());
    in = new DataInputStream(socket.getInputStream());
    send(Frames.hello(new Frames.Hello(clusterToken, apiToken)));
  }

  /** One call, and the answer to it. */
  public Frames.Answer call(Frames.Kind kind, ByteString body) throws Exception {
    int id = ++ids;
    send(Frames.call(id, kind, body));
    byte[] b = new byte[in.readInt()];
    in.readFully(b);
    Frames.Answer a = Frames.readAnswer(ByteString.fromArray(b));
    if (a.id() != id) throw new AssertionError("answer " + a.id() + " to call " + id + ": " + a.result() + " " + a.detail());
    return a;
  }

  private void send(ByteString msg) throws Exception {
    out.writeInt(msg.size());
    out.write(msg.toArray());
    out.flush();
  }

  @Override
  public void close() throws Exception {
    socket.close();
  }
}
