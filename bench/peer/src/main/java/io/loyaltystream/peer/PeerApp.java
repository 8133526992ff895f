package io.loyaltystream.peer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka Streams peer of bench_pipeline --peer (bench/peer/README.md): one input topic of
 * the project's Confluent-framed Avro InputEvents, a persistent RocksDB key-value store of
 * per-customer state with its changelog, BonusEarned outputs in the project's framing, under
 * exactly_once_v2, Kafka Streams' defaults otherwise.
 *
 * The program is the one of bench/peer/program.yaml: 5 % of a purchase's amount as points
 * (point value 1 major unit, floored over the purchase), usable at once, never expiring, one
 * tier "member". Returns and redemptions are not implemented: they are skipped.
 *
 * Usage: PeerApp BOOTSTRAP APPLICATION_ID INPUT_TOPIC OUTPUT_TOPIC STATE_DIR
 *
 * Progress lines on stdout for the bench, "PEER <epoch ms> WHAT ...": STARTED, RESTORE_START
 * topic partition, RESTORE_END topic partition records, RUNNING, STOPPED.
 */
public final class PeerApp {
    static final String STORE = "customers";
    static final int INPUT_SCHEMA_ID = 1;   /* docs/SCHEMAS.md: default ids without a registry */
    static final int BONUS_SCHEMA_ID = 114; /* BonusEarned version 2 */
    static final long BASE_BP = 500;        /* earning.base_percent 5 */
    static final long POINT_VALUE = 100;    /* one major unit in minor units (RUB: 2 decimals) */
    static final String CURRENCY = "RUB";
    static final String TIER = "member";
    static final long NEVER = Long.MAX_VALUE;
    static final int LOTS_MAX = 16, MONTHS_MAX = 48, PURCHASES_MAX = 16, SEEN_MAX = 64;
    static final int SRC_PURCHASE = 0;

    static void say(String what) {
        System.out.println("PEER " + System.currentTimeMillis() + " " + what);
        System.out.flush();
    }

    static Schema schema(String resource) {
        try (InputStream in = PeerApp.class.getResourceAsStream("/" + resource)) {
            if (in == null)
                throw new IllegalStateException("schema resource missing: " + resource);
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Avro binary of a GenericRecord (optionally behind a Confluent frame) and back. */
    static final class AvroBytes {
        final Schema schema;
        final GenericDatumReader<GenericRecord> reader;
        final GenericDatumWriter<GenericRecord> writer;
        final ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        BinaryDecoder dec;
        BinaryEncoder enc;

        AvroBytes(Schema schema) {
            this.schema = schema;
            this.reader = new GenericDatumReader<>(schema);
            this.writer = new GenericDatumWriter<>(schema);
        }

        GenericRecord read(byte[] b, int off, GenericRecord reuse) {
            dec = DecoderFactory.get().binaryDecoder(b, off, b.length - off, dec);
            try {
                return reader.read(reuse, dec);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** frameId < 0: bare Avro; else the Confluent frame (magic 0, id big-endian). */
        byte[] write(GenericRecord r, int frameId) {
            out.reset();
            if (frameId >= 0) {
                out.write(0);
                out.writeBytes(ByteBuffer.allocate(4).putInt(frameId).array());
            }
            enc = EncoderFactory.get().binaryEncoder(out, enc);
            try {
                writer.write(r, enc);
                enc.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return out.toByteArray();
        }
    }

    /** The state store's value serde: PeerState as bare Avro. */
    static final class StateSerde implements Serde<GenericRecord> {
        final Schema schema = schema("peer_state.avsc");

        public Serializer<GenericRecord> serializer() {
            AvroBytes a = new AvroBytes(schema);
            return (topic, r) -> r == null ? null : a.write(r, -1);
        }

        public Deserializer<GenericRecord> deserializer() {
            AvroBytes a = new AvroBytes(schema);
            return (topic, b) -> b == null ? null : a.read(b, 0, null);
        }
    }

    /** 64-bit FNV-1a of an event id: the idempotency ring's hash. */
    static long idHash(CharSequence s) {
        long h = 0xcbf29ce484222325L;
        byte[] b = s.toString().getBytes(StandardCharsets.UTF_8);
        for (byte x : b) {
            h ^= (x & 0xff);
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** Months since 1970-01 of a UTC time (the qualification bucket's key). */
    static int monthKey(long ms) {
        java.time.LocalDate d = java.time.Instant.ofEpochMilli(ms).atZone(java.time.ZoneOffset.UTC).toLocalDate();
        return (d.getYear() - 1970) * 12 + d.getMonthValue() - 1;
    }

    /** Decode, read-modify-write the customer's state, emit BonusEarned. */
    static final class EarnProcessor implements Processor<String, byte[], String, byte[]> {
        final AvroBytes in = new AvroBytes(schema("input_event.avsc"));
        final AvroBytes bonus = new AvroBytes(schema("bonus_earned.avsc"));
        final Schema stateSchema = schema("peer_state.avsc");
        final Schema lotSchema = stateSchema.getField("lots").schema().getElementType();
        final Schema monthSchema = stateSchema.getField("months").schema().getElementType();
        final Schema purchaseSchema = stateSchema.getField("purchases").schema().getElementType();
        GenericRecord event; /* reused */
        ProcessorContext<String, byte[]> ctx;
        KeyValueStore<String, GenericRecord> store;
        long skipped;

        @Override
        public void init(ProcessorContext<String, byte[]> context) {
            ctx = context;
            store = context.getStateStore(STORE);
        }

        @SuppressWarnings("unchecked")
        static <T> List<T> list(GenericRecord r, String f) {
            return (List<T>) r.get(f);
        }

        GenericRecord newState(String customer) {
            GenericRecord s = new GenericData.Record(stateSchema);
            s.put("customer_id", customer);
            s.put("total_earned", 0L);
            s.put("lots", new ArrayList<GenericRecord>());
            s.put("months", new ArrayList<GenericRecord>());
            s.put("purchases", new ArrayList<GenericRecord>());
            s.put("seen", new ArrayList<Long>());
            s.put("last_visit", 0L);
            return s;
        }

        @Override
        public void process(Record<String, byte[]> rec) {
            byte[] v = rec.value();
            if (rec.key() == null || v == null || v.length < 5 || v[0] != 0 ||
                ByteBuffer.wrap(v, 1, 4).getInt() != INPUT_SCHEMA_ID) {
                skipped++; /* loyalty-stream sends these to its dead-letter topic */
                return;
            }
            event = in.read(v, 5, event);
            String customer = event.get("customer_id").toString();
            if (!customer.equals(rec.key())) {
                skipped++;
                return;
            }
            GenericRecord payload = (GenericRecord) event.get("payload");
            if (!payload.getSchema().getName().equals("Purchase")) {
                skipped++; /* returns and redemptions: not in the peer */
                return;
            }
            CharSequence eventId = (CharSequence) event.get("event_id");
            long t = (Long) event.get("time");
            long h = idHash(eventId);
            GenericRecord s = store.get(customer);
            if (s == null)
                s = newState(customer);
            List<Long> seen = list(s, "seen");
            if (seen.contains(h))
                return; /* a duplicate: already applied */
            long eligible = 0;
            for (GenericRecord line : PeerApp.EarnProcessor.<GenericRecord>list(payload, "lines"))
                eligible += (Long) line.get("amount");
            long points = eligible > 0 ? Math.floorDiv(Math.multiplyExact(eligible, BASE_BP), 10000L * POINT_VALUE) : 0;
            if (points > 0) {
                credit(s, points, t);
                GenericRecord o = new GenericData.Record(bonus.schema);
                o.put("output_id", eventId + ":0");
                o.put("customer_id", customer);
                o.put("time", t);
                o.put("cause_id", eventId.toString());
                o.put("currency", CURRENCY);
                o.put("points", points);
                o.put("rate_bp", (int) BASE_BP);
                o.put("tier", TIER);
                o.put("source", "purchase");
                o.put("usable_from", t);
                o.put("expires_at", null);
                o.put("period", null);
                o.put("correction", false);
                ctx.forward(new Record<>(customer, bonus.write(o, BONUS_SCHEMA_ID), rec.timestamp()));
            }
            addMonth(s, monthKey(t), eligible);
            List<GenericRecord> purchases = list(s, "purchases");
            if (purchases.size() == PURCHASES_MAX)
                purchases.remove(0);
            GenericRecord p = new GenericData.Record(purchaseSchema);
            p.put("id_hash", h);
            p.put("time", t);
            p.put("eligible", eligible);
            p.put("points", points);
            purchases.add(p);
            if (seen.size() == SEEN_MAX)
                seen.remove(0);
            seen.add(h);
            s.put("last_visit", t);
            store.put(customer, s);
        }

        /** A new lot merges into one of the same expiry and source that is usable alike. */
        void credit(GenericRecord s, long points, long t) {
            s.put("total_earned", (Long) s.get("total_earned") + points);
            List<GenericRecord> lots = list(s, "lots");
            for (GenericRecord l : lots) {
                if ((Long) l.get("expires_at") == NEVER && (Integer) l.get("source") == SRC_PURCHASE &&
                    (Long) l.get("usable_from") <= t) {
                    l.put("amount", (Long) l.get("amount") + points);
                    l.put("remaining", (Long) l.get("remaining") + points);
                    return;
                }
            }
            GenericRecord l = new GenericData.Record(lotSchema);
            l.put("amount", points);
            l.put("remaining", points);
            l.put("earned_at", t);
            l.put("usable_from", t);
            l.put("expires_at", NEVER);
            l.put("source", SRC_PURCHASE);
            if (lots.size() == LOTS_MAX)
                lots.remove(0);
            lots.add(l);
        }

        void addMonth(GenericRecord s, int key, long value) {
            List<GenericRecord> months = list(s, "months");
            for (GenericRecord m : months) {
                if ((Integer) m.get("key") == key) {
                    m.put("value", (Long) m.get("value") + value);
                    return;
                }
            }
            if (months.size() == MONTHS_MAX)
                months.remove(0);
            GenericRecord m = new GenericData.Record(monthSchema);
            m.put("key", key);
            m.put("value", value);
            months.add(m);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: PeerApp BOOTSTRAP APPLICATION_ID INPUT_TOPIC OUTPUT_TOPIC STATE_DIR");
            System.exit(2);
        }
        say("STARTED");
        Properties p = new Properties();
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
        p.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        /* The one setting that is not Kafka Streams' default: its consumer leaves the group
         * on close. By default it does not, so a process restarted on the same application
         * waits for the old member's session.timeout.ms (45 s) before it gets its tasks;
         * the bench's restore runs would measure that wait instead of the restore. */
        p.put(StreamsConfig.mainConsumerPrefix("internal.leave.group.on.close"), true);
        /* bench_pipeline --resume: static membership, as loyalty-stream gets there */
        String instance = System.getenv("PEER_GROUP_INSTANCE_ID");
        if (instance != null && !instance.isEmpty())
            p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instance);
        /* everything else: Kafka Streams' defaults (commit.interval.ms 100 under EOS,
         * one stream thread, RocksDB store with its changelog, 10 MiB record cache) */

        StreamsBuilder b = new StreamsBuilder();
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE),
                Serdes.String(), new StateSerde()));
        b.stream(args[2], Consumed.with(Serdes.String(), Serdes.ByteArray()))
                .process(EarnProcessor::new, STORE)
                .to(args[3], Produced.with(Serdes.String(), Serdes.ByteArray()));

        KafkaStreams streams = new KafkaStreams(b.build(), p);
        CountDownLatch done = new CountDownLatch(1);
        streams.setGlobalStateRestoreListener(new StateRestoreListener() {
            public void onRestoreStart(TopicPartition tp, String store, long start, long end) {
                say("RESTORE_START " + tp.topic() + " " + tp.partition() + " " + (end - start));
            }

            public void onBatchRestored(TopicPartition tp, String store, long end, long n) {
            }

            public void onRestoreEnd(TopicPartition tp, String store, long n) {
                say("RESTORE_END " + tp.topic() + " " + tp.partition() + " " + n);
            }
        });
        streams.setStateListener((now, before) -> {
            say("STATE " + now);
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING)
                done.countDown();
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(60));
            say("STOPPED");
        }));
        streams.start();
        done.await();
    }
}
