// Readiness probe for scripts/kafka-local.
//
// Usage: java -cp "target/kafka-local/libs/*" scripts/KafkaReady.java BOOTSTRAP TIMEOUT_SECS [BROKER_PID]
//
// Sends real Kafka requests (Admin describeCluster = Metadata / DescribeCluster) until the
// broker answers with at least one node and a controller, or until the timeout. When a broker
// pid is given, it gives up as soon as that process has died. Once ready, it also makes the
// broker create its group and transaction coordinator topics (see warmUpCoordinators).
//
// Exit codes: 0 ready, 1 timed out, 2 broker process died, 64 bad usage.

import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class KafkaReady {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: KafkaReady BOOTSTRAP TIMEOUT_SECS [BROKER_PID]");
            System.exit(64);
        }
        String bootstrap = args[0];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        Long pid = args.length > 2 ? Long.parseLong(args[2]) : null;

        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "4000");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "200");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");

        String lastError = "no attempt yet";
        try (Admin admin = Admin.create(p)) {
            while (System.nanoTime() < deadline) {
                if (pid != null && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    System.err.println("KafkaReady: broker process " + pid + " is not running");
                    System.exit(2);
                }
                try {
                    DescribeClusterResult r = admin.describeCluster();
                    var nodes = r.nodes().get(4, TimeUnit.SECONDS);
                    Node controller = r.controller().get(4, TimeUnit.SECONDS);
                    String clusterId = r.clusterId().get(4, TimeUnit.SECONDS);
                    if (!nodes.isEmpty() && controller != null && !controller.isEmpty()) {
                        System.out.println("KafkaReady: cluster " + clusterId + " nodes=" + nodes);
                        warmUpCoordinators(admin, bootstrap, deadline);
                        return;
                    }
                    lastError = "no nodes/controller yet: nodes=" + nodes;
                } catch (Exception e) {
                    lastError = e.toString();
                }
                Thread.sleep(300);
            }
        }
        System.err.println("KafkaReady: timed out, last error: " + lastError);
        System.exit(1);
    }

    // The internal topics __consumer_offsets and __transaction_state are created lazily, on the
    // first FindCoordinator. Trigger both now, so that the first consumer group join, the first
    // idempotent producer and the first init_transactions of a test do not pay for it (measured
    // with librdkafka 2.12.1 on a fresh broker: first classic group join ~3.2 s instead of
    // ~0.3 s). Best effort: the broker is already known to be ready, so failures here are only
    // reported.
    static void warmUpCoordinators(Admin admin, String bootstrap, long deadline) throws InterruptedException {
        long t0 = System.nanoTime();
        boolean groups = false;
        boolean txns = false;
        String lastError = "";
        while ((!groups || !txns) && System.nanoTime() < deadline) {
            if (!groups) {
                try {
                    admin.listConsumerGroupOffsets("kafka-local-warm-up")
                            .partitionsToOffsetAndMetadata().get(4, TimeUnit.SECONDS);
                    groups = true;
                } catch (Exception e) {
                    lastError = "group coordinator: " + e;
                }
            }
            if (!txns) {
                // InitProducerId with a transactional id: creates __transaction_state, loads the
                // transaction coordinator and makes the broker fetch its first block of producer
                // ids from the controller (the first idempotent producer would otherwise be told
                // COORDINATOR_LOAD_IN_PROGRESS and retry).
                Properties p = new Properties();
                p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
                p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "kafka-local-warm-up");
                p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
                try (KafkaProducer<byte[], byte[]> producer =
                        new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
                    producer.initTransactions();
                    txns = true;
                } catch (Exception e) {
                    lastError = "transaction coordinator: " + e;
                }
            }
            if (!groups || !txns) {
                Thread.sleep(200);
            }
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        if (groups && txns) {
            System.out.println("KafkaReady: group and transaction coordinators loaded in " + ms + " ms");
        } else {
            System.err.println("KafkaReady: warning: coordinator warm-up incomplete after " + ms + " ms: " + lastError);
        }
    }
}
