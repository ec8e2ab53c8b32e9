package ai.fabric.bench;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;

/**
 * The Kafka Streams contender of fabric-ai's side-by-side benchmark: per-node tumbling
 * windows over the telemetry topic with the statistics of fabric-ai's node windows (count,
 * sum and so mean, minimum and maximum of the nine metrics), one final result per window
 * (suppressed until the window closes) written to an output topic as JSON.
 *
 * <p>Event time is the record's timestamp, which the harness sets to the sample's event time
 * when it fills the topic (the idiomatic Kafka Streams way; fabric-ai reads it from the JSON
 * instead). The grace period plays the part of fabric-ai's out-of-orderness allowance.
 *
 * <p>It stops once it has read the expected number of input records and written the
 * expected number of window results, and prints one line of key=value pairs: the rate from
 * the first input record to the last result.
 */
public final class WindowedStats {
  private static final String[] METRICS = {
    "cpu_util", "memory_util", "disk_util", "network_util", "latency_p99_ms",
    "throughput_ops", "energy_watts", "queue_length", "error_rate"
  };

  /** The fields of a telemetry sample the windows use; the rest are skipped. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static final class Sample {
    public double cpu_util;
    public double memory_util;
    public double disk_util;
    public double network_util;
    public double latency_p99_ms;
    public double throughput_ops;
    public double energy_watts;
    public double queue_length;
    public double error_rate;

    double[] values() {
      return new double[] {
        cpu_util, memory_util, disk_util, network_util, latency_p99_ms,
        throughput_ops, energy_watts, queue_length, error_rate
      };
    }
  }

  /** Count, sum, minimum and maximum of every metric in one window. */
  public static final class Stats {
    long count;
    final double[] sum = new double[METRICS.length];
    final double[] min = new double[METRICS.length];
    final double[] max = new double[METRICS.length];

    Stats() {
      java.util.Arrays.fill(min, Double.POSITIVE_INFINITY);
      java.util.Arrays.fill(max, Double.NEGATIVE_INFINITY);
    }

    Stats add(Sample s) {
      double[] v = s.values();
      count++;
      for (int i = 0; i < v.length; i++) {
        sum[i] += v[i];
        min[i] = Math.min(min[i], v[i]);
        max[i] = Math.max(max[i], v[i]);
      }
      return this;
    }

    String toJson(String node, long start, long end) {
      StringBuilder b = new StringBuilder(512);
      b.append("{\"node\":\"").append(node).append("\",\"window_start_ms\":").append(start)
          .append(",\"window_end_ms\":").append(end).append(",\"count\":").append(count);
      for (int i = 0; i < METRICS.length; i++) {
        b.append(",\"").append(METRICS[i]).append("\":{\"mean\":").append(sum[i] / count)
            .append(",\"min\":").append(min[i]).append(",\"max\":").append(max[i]).append('}');
      }
      return b.append('}').toString();
    }
  }

  /** The window state as fixed-width binary: the count, then sum, min and max per metric. */
  static final class StatsSerde implements Serde<Stats> {
    private static final int SIZE = 8 + 3 * 8 * METRICS.length;

    @Override
    public Serializer<Stats> serializer() {
      return (topic, s) -> {
        ByteBuffer b = ByteBuffer.allocate(SIZE).putLong(s.count);
        for (int i = 0; i < METRICS.length; i++) {
          b.putDouble(s.sum[i]).putDouble(s.min[i]).putDouble(s.max[i]);
        }
        return b.array();
      };
    }

    @Override
    public Deserializer<Stats> deserializer() {
      return (topic, bytes) -> {
        if (bytes == null) {
          return null;
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        Stats s = new Stats();
        s.count = b.getLong();
        for (int i = 0; i < METRICS.length; i++) {
          s.sum[i] = b.getDouble();
          s.min[i] = b.getDouble();
          s.max[i] = b.getDouble();
        }
        return s;
      };
    }
  }

  private static String arg(String[] args, String name, String fallback) {
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals("--" + name)) {
        return args[i + 1];
      }
    }
    if (fallback == null) {
      throw new IllegalArgumentException("missing --" + name);
    }
    return fallback;
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = arg(args, "bootstrap", "127.0.0.1:9092");
    String input = arg(args, "input", null);
    String output = arg(args, "output", null);
    String appId = arg(args, "application-id", null);
    long events = Long.parseLong(arg(args, "events", null));
    long windows = Long.parseLong(arg(args, "windows", null));
    long windowS = Long.parseLong(arg(args, "window-s", "120"));
    long graceS = Long.parseLong(arg(args, "grace-s", "30"));
    long timeoutS = Long.parseLong(arg(args, "timeout-s", "600"));

    ObjectReader reader =
        new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .readerFor(Sample.class);
    AtomicLong read = new AtomicLong();
    AtomicLong written = new AtomicLong();
    AtomicLong firstNanos = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicLong firstCpuNanos = new AtomicLong();
    AtomicLong firstOutputNanos = new AtomicLong();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .peek((k, v) -> {
          if (read.getAndIncrement() == 0) {
            firstNanos.set(System.nanoTime());
            firstCpuNanos.set(os.getProcessCpuTime());
          }
        })
        .mapValues(bytes -> {
          try {
            return reader.<Sample>readValue(bytes);
          } catch (IOException e) {
            failed.incrementAndGet();
            return null;
          }
        })
        .filter((k, s) -> s != null)
        .groupByKey()
        .windowedBy(
            TimeWindows.ofSizeAndGrace(Duration.ofSeconds(windowS), Duration.ofSeconds(graceS)))
        .aggregate(
            Stats::new,
            (k, s, agg) -> agg.add(s),
            Materialized.with(Serdes.String(), new StatsSerde()))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
        .toStream()
        .map((w, s) -> KeyValue.pair(
            w.key(), s.toJson(w.key(), w.window().start(), w.window().end())))
        .peek((k, v) -> {
          if (written.getAndIncrement() == 0) {
            firstOutputNanos.set(System.nanoTime());
          }
        })
        .to(output, Produced.with(Serdes.String(), Serdes.String()));

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.STATE_DIR_CONFIG,
        Files.createTempDirectory("kstreams-bench").toString());
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    // Window updates reach the suppression buffer when the record cache is flushed, at each
    // commit: a short interval lets the final results out soon after the input ends.
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    long started = System.nanoTime();
    streams.start();
    long deadline = started + timeoutS * 1_000_000_000L;
    while (read.get() < events || written.get() < windows) {
      if (System.nanoTime() > deadline || streams.state() == KafkaStreams.State.ERROR) {
        System.err.printf("kstreams stalled: read %d of %d, wrote %d of %d windows, state %s%n",
            read.get(), events, written.get(), windows, streams.state());
        streams.close(Duration.ofSeconds(10));
        System.exit(1);
      }
      Thread.sleep(1);
    }
    long last = System.nanoTime();
    long lastCpu = os.getProcessCpuTime();
    streams.close(Duration.ofSeconds(30));
    double seconds = (last - firstNanos.get()) / 1e9;
    System.out.printf(
        "contender=kstreams events=%d windows=%d decode_failures=%d seconds=%.3f"
            + " events_per_s=%.0f join_s=%.2f first_output_s=%.2f cpu_interval_s=%.2f jvm=%s%n",
        read.get(), written.get(), failed.get(), seconds, read.get() / seconds,
        (firstNanos.get() - started) / 1e9, (firstOutputNanos.get() - firstNanos.get()) / 1e9,
        (lastCpu - firstCpuNanos.get()) / 1e9,
        ManagementFactory.getRuntimeMXBean().getVmVersion());
  }
}
