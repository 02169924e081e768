package io.ringkv.bench;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * One keep-alive HTTP/1.1 connection on a blocking socket, as lean as a load generator needs: the
 * request is written from a reused byte buffer, the response is read into another and only its
 * status, length and framing are parsed; the body is skipped. A broken connection is reopened on
 * the next request. Not thread-safe: one per load thread.
 */
final class HttpConnection implements AutoCloseable {
  private final String host;
  private final int port;
  private final int timeoutMillis;
  private final byte[] hostHeader;
  private Socket socket;
  private InputStream in;
  private OutputStream out;
  private byte[] buf = new byte[16 * 1024];
  private int start;
  private int end;
  private byte[] req = new byte[1024];
  private int reqLen;

  HttpConnection(URI base, int timeoutMillis) {
    this.host = base.getHost();
    this.port = base.getPort() > 0 ? base.getPort() : 80;
    this.timeoutMillis = timeoutMillis;
    this.hostHeader = ("\r\nHost: " + host + ":" + port + "\r\n").getBytes(StandardCharsets.US_ASCII);
  }

  /** Sends {@code method target} with an optional body and returns the response status. */
  int exchange(String method, String target, byte[] authorization, byte[] body) throws IOException {
    reqLen = 0;
    append(method.getBytes(StandardCharsets.US_ASCII));
    append((byte) ' ');
    append(target.getBytes(StandardCharsets.UTF_8));
    append(HTTP11);
    append(hostHeader);
    if (authorization != null) append(authorization);
    if (body != null) {
      append(JSON_TYPE);
      append(Integer.toString(body.length).getBytes(StandardCharsets.US_ASCII));
      append(CRLF);
    }
    append(CRLF);
    if (body != null) append(body);
    if (socket == null) open();
    try {
      out.write(req, 0, reqLen);
      out.flush();
      return readResponse();
    } catch (IOException e) {
      close();
      throw e;
    }
  }

  private void open() throws IOException {
    Socket s = new Socket();
    s.setTcpNoDelay(true);
    s.setSoTimeout(timeoutMillis);
    s.connect(new InetSocketAddress(host, port), timeoutMillis);
    socket = s;
    in = s.getInputStream();
    out = s.getOutputStream();
    start = end = 0;
  }

  private int readResponse() throws IOException {
    int headerEnd;
    while ((headerEnd = indexOfHeaderEnd()) < 0) fill();
    int status = parseStatus();
    long contentLength = -1;
    boolean chunked = false;
    boolean closeAfter = false;
    int line = indexOf((byte) '\n', start, headerEnd) + 1;
    while (line < headerEnd) {
      int eol = indexOf((byte) '\n', line, headerEnd + 2);
      if (headerIs(line, "content-length:")) contentLength = parseNumber(line + 15, eol);
      else if (headerIs(line, "transfer-encoding:") && contains(line, eol, "chunked")) chunked = true;
      else if (headerIs(line, "connection:") && contains(line, eol, "close")) closeAfter = true;
      line = eol + 1;
    }
    start = headerEnd + 4;
    if (chunked) skipChunked();
    else if (contentLength > 0) skip(contentLength);
    if (closeAfter) close();
    return status;
  }

  private void skipChunked() throws IOException {
    while (true) {
      int eol;
      while ((eol = indexOf((byte) '\n', start, end)) < 0) fill();
      long size = 0;
      for (int i = start; i < eol; i++) {
        int d = Character.digit(buf[i], 16);
        if (d < 0) break;
        size = size * 16 + d;
      }
      start = eol + 1;
      skip(size + 2);   // the chunk and its CRLF; the last chunk (0) is followed by an empty line
      if (size == 0) return;
    }
  }

  private void skip(long n) throws IOException {
    while (n > 0) {
      if (start == end) fill();
      int k = (int) Math.min(n, end - start);
      start += k;
      n -= k;
    }
  }

  private void fill() throws IOException {
    if (start == end) start = end = 0;
    if (end == buf.length) {
      if (start > 0) {
        System.arraycopy(buf, start, buf, 0, end - start);
        end -= start;
        start = 0;
      } else {
        buf = java.util.Arrays.copyOf(buf, buf.length * 2);
      }
    }
    int r = in.read(buf, end, buf.length - end);
    if (r < 0) throw new EOFException("connection closed by the server");
    end += r;
  }

  private int indexOfHeaderEnd() {
    for (int i = start; i + 3 < end; i++) {
      if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') return i;
    }
    return -1;
  }

  private int parseStatus() throws IOException {
    int sp = indexOf((byte) ' ', start, end);
    if (sp < 0 || sp + 4 > end) throw new IOException("not an HTTP response");
    return (int) parseNumber(sp + 1, sp + 4);
  }

  private long parseNumber(int from, int to) {
    long v = 0;
    for (int i = from; i < to; i++) {
      byte b = buf[i];
      if (b >= '0' && b <= '9') v = v * 10 + (b - '0');
      else if (b != ' ' && b != '\t') break;
    }
    return v;
  }

  private boolean headerIs(int at, String lowerName) {
    if (at + lowerName.length() > end) return false;
    for (int i = 0; i < lowerName.length(); i++) {
      if (Character.toLowerCase((char) buf[at + i]) != lowerName.charAt(i)) return false;
    }
    return true;
  }

  private boolean contains(int from, int to, String lower) {
    return new String(buf, from, to - from, StandardCharsets.US_ASCII).toLowerCase().contains(lower);
  }

  private int indexOf(byte b, int from, int to) {
    for (int i = from; i < Math.min(to, end); i++) if (buf[i] == b) return i;
    return -1;
  }

  private void append(byte b) {
    if (reqLen == req.length) req = java.util.Arrays.copyOf(req, req.length * 2);
    req[reqLen++] = b;
  }

  private void append(byte[] bytes) {
    if (reqLen + bytes.length > req.length) req = java.util.Arrays.copyOf(req, Math.max(req.length * 2, reqLen + bytes.length));
    System.arraycopy(bytes, 0, req, reqLen, bytes.length);
    reqLen += bytes.length;
  }

  @Override
  public void close() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    socket = null;
  }

  private static final byte[] HTTP11 = " HTTP/1.1".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CRLF = "\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] JSON_TYPE = "Content-Type: application/json\r\nContent-Length: ".getBytes(StandardCharsets.US_ASCII);
}
