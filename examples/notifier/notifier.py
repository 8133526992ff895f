#!/usr/bin/python3
"""A notification service's side of loyalty-stream, in Python.

Reads every output topic of the processor with isolation.level=read_committed (the
processor writes in transactions: an aborted batch must never reach a customer), decodes
each record with its topic's schema from schemas/ (Confluent framing: byte 0 = 0, bytes
1-4 = the schema id, big-endian, then the Avro binary body; docs/SCHEMAS.md) and prints the
message a notification service would send, one line per record (kind, customer,
output_id, message, separated by tabs):

    TierProgress    c0042   p-1234:2    2,000 RUB more to reach Gold

Amounts in the outputs are minor units of the currency (a TierProgress "missing" of
200000 in RUB is 2,000.00 RUB); times are milliseconds since the epoch, shown here as dates
in the program's time zone (--timezone). Needs Debian's python3-confluent-kafka and
python3-avro. See examples/notifier/README.md.
"""
import argparse
import io
import json
import signal
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import avro.io
import avro.schema
from confluent_kafka import Consumer, KafkaError, TopicPartition

# One record type per topic (docs/SCHEMAS.md, "Topics, records, subjects"): topic -> schema
# file; the topic names are the processor's defaults (topic.* settings of `run`).
TOPICS = {
    "loyalty.tier-changes": "tier_changed.avsc",
    "loyalty.bonuses": "bonus_earned.avsc",
    "loyalty.expiry-warnings": "expiry_warning.avsc",
    "loyalty.points-expired": "points_expired.avsc",
    "loyalty.points-reversed": "points_reversed.avsc",
    "loyalty.points-redeemed": "points_redeemed.avsc",
    "loyalty.redemption-rejected": "redemption_rejected.avsc",
    "loyalty.rewards": "reward_earned.avsc",
    "loyalty.tier-warnings": "tier_will_downgrade.avsc",
    "loyalty.tier-progress": "tier_progress.avsc",
}

# Currencies whose minor units are not 2 (ISO 4217); every other has 2.
MINOR_UNITS = {c: 0 for c in "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()}
MINOR_UNITS.update({c: 3 for c in "BHD IQD JOD KWD LYD OMR TND".split()})
MINOR_UNITS.update({"CLF": 4, "UYW": 4})


def money(minor, currency):
    """Minor units -> '2,000 RUB' (decimals only when there are any)."""
    d = MINOR_UNITS.get(currency, 2)
    whole, frac = divmod(abs(minor), 10 ** d)
    sign = "-" if minor < 0 else ""
    text = f"{sign}{whole:,}"
    if frac:
        text += f".{frac:0{d}d}"
    return f"{text} {currency}"


class Texts:
    """The message for each output kind."""

    def __init__(self, tz, metric):
        self.tz = tz
        self.metric = metric

    def day(self, t):
        """The local date of an instant: '30 April'. Times are timestamp-millis, which the
        avro library hands over as an aware datetime (or an int of ms without it)."""
        if not isinstance(t, datetime):
            t = datetime.fromtimestamp(t / 1000, timezone.utc)
        t = t.astimezone(self.tz)
        return f"{t.day} {t.strftime('%B')}"

    def last_day(self, t):
        """The last local day before an instant (points expiring at May 1 00:00 expire on
        30 April: they are usable all that day)."""
        if not isinstance(t, datetime):
            t = datetime.fromtimestamp(t / 1000, timezone.utc)
        return self.day(t - timedelta(milliseconds=1))

    def metric_value(self, v, currency):
        if self.metric == "spend":
            return money(v, currency)
        return f"{v:,} {'items' if self.metric == 'quantity' else 'purchases'}"

    def TierChanged(self, r):
        if r["direction"] == "PROMOTION":
            return f"Congratulations: you are now {r['to_tier']} (was {r['from_tier']})"
        return f"Your status is now {r['to_tier']} (was {r['from_tier']})"

    def BonusEarned(self, r):
        text = f"You earned {r['points']:,} points"
        if r["source"] != "purchase":
            text += f" ({r['source'].replace('_', ' ')})"
        if r["expires_at"] is not None:
            text += f"; they expire on {self.last_day(r['expires_at'])}"
        return text

    def ExpiryWarning(self, r):
        return f"{r['points']:,} points expire on {self.last_day(r['expires_at'])}"

    def PointsExpired(self, r):
        return f"{r['points']:,} points expired on {self.last_day(r['expired_at'])}"

    def PointsReversed(self, r):
        text = f"{r['points']:,} points were taken back for a return of {r['original_event_id']}"
        if r["debt_added"]:
            text += f"; {r['debt_added']:,} more will come off your next points"
        return text

    def PointsRedeemed(self, r):
        return (f"You paid {money(r['value'], r['currency'])} with {r['points']:,} points; "
                f"{r['balance_after']:,} points left")

    def RedemptionRejected(self, r):
        why = {
            "insufficient_points": f"you have {r['points_available']:,} points",
            "over_max_share": "points may pay only part of this basket",
            "over_eligible_amount": "the points are worth more than the items they may pay for",
            "excluded_basket": "these items cannot be paid with points",
            "invalid_points": "the number of points was not valid",
        }.get(r["reason"], r["reason"])
        return f"Paying {r['points_requested']:,} points was declined: {why}"

    def RewardEarned(self, r):
        return (f"You earned a reward: {r['reward'].replace('_', ' ')} "
                f"({r['stamps_used']} {r['category']} stamps)")

    def TierWillDowngrade(self, r):
        return (f"Your {r['from_tier']} status ends on {self.last_day(r['effective_at'])} "
                f"(you will be {r['to_tier']}) unless you shop before then")

    def TierProgress(self, r):
        return f"{self.metric_value(r['missing'], r['currency'])} more to reach {r['next_tier']}"


class Decoder:
    """Confluent-framed Avro -> dict, with the topic's schema as the reader's. A writer
    schema id other than the processor's default ids is fetched from --registry when one
    is given (the processor registers under the topic-name strategy), else the topic's
    own schema stands in for it."""

    def __init__(self, schema_dir, registry):
        self.readers = {}
        for topic, name in TOPICS.items():
            self.readers[topic] = avro.schema.parse((schema_dir / name).read_text())
        self.registry = registry.rstrip("/") if registry else None
        self.writers = {}

    def writer(self, topic, schema_id):
        if not self.registry:
            return self.readers[topic]
        if schema_id not in self.writers:
            with urllib.request.urlopen(f"{self.registry}/schemas/ids/{schema_id}", timeout=10) as r:
                self.writers[schema_id] = avro.schema.parse(json.load(r)["schema"])
        return self.writers[schema_id]

    def decode(self, topic, value):
        if value is None or len(value) < 5 or value[0] != 0:
            raise ValueError("not a Confluent-framed Avro record (bad magic byte)")
        schema_id = int.from_bytes(value[1:5], "big")
        reader = avro.io.DatumReader(self.writer(topic, schema_id), self.readers[topic])
        return reader.read(avro.io.BinaryDecoder(io.BytesIO(value[5:])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    ap.add_argument("--group", default="loyalty-notifier", help="consumer group id")
    ap.add_argument("--timezone", default="UTC", help="the program's IANA time zone (dates)")
    ap.add_argument("--metric", default="spend", choices=["spend", "quantity", "purchases"],
                    help="the program's qualification.metric (TierProgress amounts)")
    ap.add_argument("--schemas", default=str(Path(__file__).resolve().parents[2] / "schemas"),
                    help="directory of the .avsc files (default: the repository's schemas/)")
    ap.add_argument("--registry", help="schema registry URL, to read writers' schemas by id")
    ap.add_argument("--topic-prefix", default="", help="prefix of the output topics' names")
    ap.add_argument("--until-eof", action="store_true",
                    help="stop when every partition has been read to its end")
    ap.add_argument("-X", action="append", default=[], metavar="KEY=VALUE",
                    help="a librdkafka setting (TLS, SASL)")
    a = ap.parse_args()

    texts = Texts(ZoneInfo(a.timezone), a.metric)
    decoder = Decoder(Path(a.schemas), a.registry)
    conf = {
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group,
        "isolation.level": "read_committed",  # never a record of an aborted transaction
        "auto.offset.reset": "earliest",
        "enable.partition.eof": a.until_eof,
        "enable.auto.commit": True,
    }
    for kv in a.X:
        k, _, v = kv.partition("=")
        conf[k] = v
    consumer = Consumer(conf)
    topics = {a.topic_prefix + t: t for t in TOPICS}
    # Partitions are known before reading, so --until-eof can tell when all are read.
    meta = consumer.list_topics(timeout=30)
    parts = {(t, p) for t in topics if t in meta.topics for p in meta.topics[t].partitions}
    consumer.subscribe(list(topics))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    at_eof = set()
    counts = {}
    try:
        while not stop:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_eof.add((msg.topic(), msg.partition()))
                    if a.until_eof and parts and parts <= at_eof:
                        break
                    continue
                print(f"error: {msg.error()}", file=sys.stderr)
                continue
            at_eof.discard((msg.topic(), msg.partition()))
            topic = topics[msg.topic()]
            try:
                rec = decoder.decode(topic, msg.value())
            except Exception as e:  # a record we cannot read: say so, go on
                print(f"skipped {msg.topic()}[{msg.partition()}]@{msg.offset()}: {e}", file=sys.stderr)
                continue
            kind = Path(TOPICS[topic]).stem.title().replace("_", "")
            counts[kind] = counts.get(kind, 0) + 1
            # output_id is the record's idempotency key: a service that must not notify
            # twice (after its own restart) remembers the ids it has sent
            print(f"{kind}\t{rec['customer_id']}\t{rec['output_id']}\t{getattr(texts, kind)(rec)}",
                  flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    print("messages: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
