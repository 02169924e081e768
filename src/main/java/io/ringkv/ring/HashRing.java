package io.ringkv.ring;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * An immutable consistent-hash ring with virtual nodes.
 *
 * <p>Each node owns {@code vnodes} tokens, the first 8 bytes of SHA-256("nodeId#i"), so that every
 * process computes the same ring from the same node set. A key hashes with {@link #hash(String)} (a
 * fast 64-bit hash of its UTF-16 code units) and its preference list is the first {@code n} distinct
 * nodes met clockwise from that point.
 */
public final class HashRing {
  private final long[] tokens;      // sorted
  private final int[] owners;       // owners[i] = index into nodes of tokens[i]
  private final String[] nodes;     // sorted node ids
  private final int vnodes;

  private HashRing(String[] nodes, int vnodes) {
    this.nodes = nodes;
    this.vnodes = vnodes;
    int total = nodes.length * vnodes;
    long[] packedTokens = new long[total];
    int[] packedOwners = new int[total];
    // sort (token, owner) pairs by token; ties (astronomically rare) broken by node order
    long[][] pairs = new long[total][2];
    int k = 0;
    for (int n = 0; n < nodes.length; n++) {
      for (int v = 0; v < vnodes; v++) {
        pairs[k][0] = token(nodes[n] + "#" + v);
        pairs[k][1] = n;
        k++;
      }
    }
    Arrays.sort(pairs, (a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
    for (int i = 0; i < total; i++) {
      packedTokens[i] = pairs[i][0];
      packedOwners[i] = (int) pairs[i][1];
    }
    this.tokens = packedTokens;
    this.owners = packedOwners;
  }

  /** A ring over the given node ids (duplicates ignored). */
  public static HashRing of(Collection<String> nodeIds, int vnodes) {
    if (vnodes < 1) throw new IllegalArgumentException("vnodes must be >= 1");
    SortedSet<String> sorted = new TreeSet<>(nodeIds);
    return new HashRing(sorted.toArray(new String[0]), vnodes);
  }

  public static HashRing empty(int vnodes) {
    return of(List.of(), vnodes);
  }

  public List<String> nodes() {
    return List.of(nodes);
  }

  public int vnodes() {
    return vnodes;
  }

  /**
   * The ring's tokens, sorted (a copy). They cut the hash space into ranges: range {@code i} holds
   * the hashes from just after token {@code i-1} up to token {@code i} (range 0 also takes those past
   * the last token), and every key in it has the preference list of token {@code i}.
   */
  public long[] tokens() {
    return tokens.clone();
  }

  public boolean isEmpty() {
    return nodes.length == 0;
  }

  /** A new ring with {@code node} added. */
  public HashRing with(String node) {
    List<String> next = new ArrayList<>(List.of(nodes));
    next.add(node);
    return of(next, vnodes);
  }

  /** A new ring without {@code node}. */
  public HashRing without(String node) {
    List<String> next = new ArrayList<>(List.of(nodes));
    next.remove(node);
    return of(next, vnodes);
  }

  /** The first {@code n} distinct nodes clockwise from the key's hash, primary first. */
  public List<String> preferenceList(String key, int n) {
    return preferenceListForHash(hash(key), n);
  }

  /** The primary owner of the key, or null when the ring is empty. */
  public String primary(String key) {
    if (nodes.length == 0) return null;
    return nodes[owners[firstIndex(hash(key))]];
  }

  /** The preference list of every hash whose first token at or after it is the first at or after {@code h}. */
  public List<String> preferenceListForHash(long h, int n) {
    if (n <= 0 || nodes.length == 0) return List.of();
    int i = firstIndex(h);
    if (n >= byN.length) return walk(i, n);
    // every hash between two tokens has the same list: one list per token, made once per n
    Preferences p = byN[n];
    if (p == null) byN[n] = p = new Preferences(n, this);
    return p.lists[i];
  }

  /**
   * The preference list of every token index, for one n. Shared between threads without a lock: its
   * fields are final (so a thread that sees the object sees its lists), and two threads that race to
   * build it build equal ones.
   */
  private static final class Preferences {
    final List<String>[] lists;

    @SuppressWarnings("unchecked")
    Preferences(int n, HashRing ring) {
      this.lists = new List[ring.tokens.length];
      for (int i = 0; i < lists.length; i++) lists[i] = ring.walk(i, n);
    }
  }

  /** Preferences by n (n < 8), built on first use. */
  private final Preferences[] byN = new Preferences[8];

  /** The first n distinct nodes clockwise from token index i. */
  private List<String> walk(int i, int n) {
    int want = Math.min(n, nodes.length);
    String[] out = new String[want];
    int found = 0;
    // a small bitset of nodes already taken; nodes.length is small (tens), so a boolean[] is cheap
    boolean[] taken = new boolean[nodes.length];
    for (int step = 0; step < tokens.length && found < want; step++) {
      int owner = owners[(i + step) % tokens.length];
      if (!taken[owner]) {
        taken[owner] = true;
        out[found++] = nodes[owner];
      }
    }
    return List.of(out);
  }

  /** Index of the first token >= h, wrapping to 0 past the end. */
  private int firstIndex(long h) {
    return firstAtOrAfter(tokens, h);
  }

  /** In a sorted non-empty array: the index of the first value >= h, wrapping to 0 past the end. */
  public static int firstAtOrAfter(long[] sorted, long h) {
    int lo = 0;
    int hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return lo == sorted.length ? 0 : lo;
  }

  /**
   * Every token of either ring, sorted, without repeats: between two consecutive ones (and past the
   * last, round to the first) every hash has the same preference list in both rings.
   */
  public static long[] boundaries(HashRing a, HashRing b) {
    long[] all = new long[a.tokens.length + b.tokens.length];
    System.arraycopy(a.tokens, 0, all, 0, a.tokens.length);
    System.arraycopy(b.tokens, 0, all, a.tokens.length, b.tokens.length);
    Arrays.sort(all);
    int n = 0;
    for (int i = 0; i < all.length; i++) if (i == 0 || all[i] != all[i - 1]) all[n++] = all[i];
    return Arrays.copyOf(all, n);
  }

  /**
   * Per node, the fraction of the hash space whose keys it is primary for ({@code [0]}) and the
   * fraction it holds a copy of ({@code [1]}) with {@code n} copies per key.
   */
  public java.util.Map<String, double[]> shares(int n) {
    java.util.Map<String, double[]> out = new java.util.TreeMap<>();
    for (String node : nodes) out.put(node, new double[2]);
    for (int i = 0; i < tokens.length; i++) {
      // the range ending at token i starts just after token i-1 (the first wraps round from the last)
      long width = tokens[i] - tokens[i == 0 ? tokens.length - 1 : i - 1];
      double fraction = tokens.length == 1 ? 1.0 : ((width >>> 1) * 2.0 + (width & 1)) / 0x1p64;   // unsigned
      List<String> owners = preferenceListForHash(tokens[i], n);
      for (int k = 0; k < owners.size(); k++) {
        double[] s = out.get(owners.get(k));
        if (k == 0) s[0] += fraction;
        s[1] += fraction;
      }
    }
    return out;
  }

  /**
   * The key hash: FNV-1a over the UTF-16 code units, then MurmurHash3's 64-bit finalizer to spread
   * the bits. Allocation-free and identical on every JVM.
   */
  public static long hash(String key) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < key.length(); i++) {
      h ^= key.charAt(i);
      h *= 0x100000001b3L;
    }
    return fmix64(h);
  }

  /** MurmurHash3's 64-bit finalizer: every input bit moves every output bit. */
  public static long fmix64(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }

  static long token(String vnodeName) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(vnodeName.getBytes(StandardCharsets.UTF_8));
      long t = 0;
      for (int i = 0; i < 8; i++) t = (t << 8) | (d[i] & 0xff);
      return t;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always present", e);
    }
  }

  @Override
  public String toString() {
    return "HashRing" + Arrays.toString(nodes) + "x" + vnodes;
  }
}
