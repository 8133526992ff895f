/*
 * Renders the chart with the real Helm 3 engine (helm-java: Helm's Go library as a native
 * library) and checks the manifests, where no helm binary can be installed. Run by
 * render_chart.sh as a single-file program:
 *
 *   java -cp CLASSPATH HelmRender.java CHART_DIR VALUES_ALL_FILE
 *
 * It runs `helm lint --strict`, renders the defaults and values-all.yaml (every optional
 * feature on), checks the objects and the fields that matter to the processor (instance
 * id from the pod name, probes, volume, properties file, selectors that match), and
 * checks that bad values fail the install with their message. Exit 0 ok, 1 a check failed.
 */
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.Yaml;

public class HelmRender {
    static int failures = 0;

    static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            failures++;
        }
    }

    @SuppressWarnings("unchecked")
    static Object at(Object node, String path) {
        Object cur = node;
        for (String part : path.split("/")) {
            if (cur == null)
                return null;
            if (cur instanceof List) {
                cur = ((List<Object>) cur).get(Integer.parseInt(part));
            } else {
                cur = ((Map<String, Object>) cur).get(part);
            }
        }
        return cur;
    }

    @SuppressWarnings("unchecked")
    /* bootstrap.servers has no default (rendering fails without it): every render sets it
     * unless a --set of the test names it. */
    static List<Map<String, Object>> render(Path chart, Path values, String... sets) {
        TemplateCommand t = new Helm(chart).template().withName("ls").withNamespace("loyalty");
        if (java.util.Arrays.stream(sets).noneMatch(x -> x.startsWith("config.bootstrap")))
            t = t.set("config.bootstrap\\.servers", "kafka:9092");
        if (values != null)
            t = t.withValuesFile(values);
        for (String s : sets) {
            String[] kv = s.split("=", 2);
            t = t.set(kv[0], kv[1]);
        }
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object d : new Yaml().loadAll(t.call()))
            if (d != null)
                docs.add((Map<String, Object>) d);
        return docs;
    }

    static Map<String, Object> find(List<Map<String, Object>> docs, String kind, String name) {
        for (Map<String, Object> d : docs)
            if (kind.equals(d.get("kind")) && (name == null || name.equals(at(d, "metadata/name"))))
                return d;
        return null;
    }

    static long count(List<Map<String, Object>> docs, String kind) {
        return docs.stream().filter(d -> kind.equals(d.get("kind"))).count();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> env(Map<String, Object> container, String name) {
        for (Map<String, Object> e : (List<Map<String, Object>>) container.get("env"))
            if (name.equals(e.get("name")))
                return e;
        return null;
    }

    @SuppressWarnings("unchecked")
    static boolean labelsMatch(Object selector, Object labels) {
        Map<String, Object> sel = (Map<String, Object>) selector;
        Map<String, Object> lab = (Map<String, Object>) labels;
        if (sel == null || lab == null || sel.isEmpty())
            return false;
        for (Map.Entry<String, Object> e : sel.entrySet())
            if (!e.getValue().equals(lab.get(e.getKey())))
                return false;
        return true;
    }

    static void checkDefaults(Path chart) {
        List<Map<String, Object>> docs = render(chart, null);
        Map<String, Object> sts = find(docs, "StatefulSet", "ls-loyalty-stream");
        check(sts != null, "default: a StatefulSet ls-loyalty-stream");
        if (sts == null)
            return;
        check(count(docs, "HorizontalPodAutoscaler") == 0, "default: no HPA");
        check(count(docs, "ServiceMonitor") == 0, "default: no ServiceMonitor");
        check(Integer.valueOf(3).equals(at(sts, "spec/replicas")), "default: 3 replicas");
        check("Parallel".equals(at(sts, "spec/podManagementPolicy")), "podManagementPolicy Parallel");
        Object podLabels = at(sts, "spec/template/metadata/labels");
        check(labelsMatch(at(sts, "spec/selector/matchLabels"), podLabels), "selector matches pods");
        @SuppressWarnings("unchecked")
        Map<String, Object> c = (Map<String, Object>) at(sts, "spec/template/spec/containers/0");
        check(String.valueOf(c.get("image")).startsWith("localhost/loyalty-stream:") &&
                  "IfNotPresent".equals(c.get("imagePullPolicy")),
              "default image: container/build-image.sh's localhost/loyalty-stream, IfNotPresent");
        check(List.of("run", "--config", "/etc/loyalty-stream/loyalty-stream.properties")
                  .equals(c.get("args")), "container args are run --config …");
        Map<String, Object> id = env(c, "LOYALTY_INSTANCE_ID");
        check(id != null && "metadata.name".equals(at(id, "valueFrom/fieldRef/fieldPath")),
              "LOYALTY_INSTANCE_ID from the pod name");
        check("/healthz".equals(at(c, "livenessProbe/httpGet/path")), "liveness /healthz");
        check("/readyz".equals(at(c, "readinessProbe/httpGet/path")), "readiness /readyz");
        check(Integer.valueOf(8080).equals(at(c, "ports/0/containerPort")), "containerPort 8080");
        check(((List<?>) at(c, "ports")).size() == 1, "default: no query port (state queries off)");
        check("data".equals(at(c, "volumeMounts/0/name")) &&
                  "/var/lib/loyalty-stream".equals(at(c, "volumeMounts/0/mountPath")),
              "data mounted at /var/lib/loyalty-stream");
        check("data".equals(at(sts, "spec/volumeClaimTemplates/0/metadata/name")),
              "volumeClaimTemplate data");
        check("RuntimeDefault".equals(at(sts, "spec/template/spec/securityContext/seccompProfile/type")),
              "seccompProfile RuntimeDefault");
        check("1024Mi".equals(at(c, "resources/requests/memory")) &&
                  "1024Mi".equals(at(c, "resources/limits/memory")),
              "memory request = limit = 1024Mi from the default budget, got " + at(c, "resources"));
        check("500m".equals(at(c, "resources/requests/cpu")), "cpu request kept");
        check(count(docs, "PrometheusRule") == 0 && count(docs, "NetworkPolicy") == 0 &&
                  find(docs, "ConfigMap", "ls-loyalty-stream-dashboard") == null,
              "default: no PrometheusRule, NetworkPolicy or dashboard");
        Object grace = at(sts, "spec/template/spec/terminationGracePeriodSeconds");
        check(grace instanceof Integer && (Integer) grace >= 30, "terminationGracePeriodSeconds >= 30");
        check(at(sts, "spec/template/spec/affinity/podAntiAffinity/" +
                          "preferredDuringSchedulingIgnoredDuringExecution") != null,
              "preferred pod anti-affinity");

        Map<String, Object> cm = find(docs, "ConfigMap", "ls-loyalty-stream-config");
        String props = cm == null ? "" : (String) at(cm, "data/loyalty-stream.properties");
        for (String line : List.of("state.dir=/var/lib/loyalty-stream",
                                   "program.file=/etc/loyalty-stream/program.yaml",
                                   "http.port=8080", "application.id=loyalty-stream",
                                   "topic.input=purchases", "commit.interval.ms=100",
                                   "memory.budget.bytes=644245094"))
            check(props.lines().anyMatch(l -> l.equals(line)), "properties line " + line);
        Map<String, Object> prog = find(docs, "ConfigMap", "ls-loyalty-stream-program");
        Object program = prog == null ? null : new Yaml().load((String) at(prog, "data/program.yaml"));
        check(program != null && "EUR".equals(at(program, "currency")), "program ConfigMap holds YAML");

        Map<String, Object> headless = find(docs, "Service", "ls-loyalty-stream-headless");
        Map<String, Object> http = find(docs, "Service", "ls-loyalty-stream");
        check(headless != null && "None".equals(at(headless, "spec/clusterIP")), "headless Service");
        check(headless != null && "ls-loyalty-stream-headless".equals(at(sts, "spec/serviceName")),
              "serviceName is the headless Service");
        check(http != null && labelsMatch(at(http, "spec/selector"), podLabels),
              "HTTP Service selects the pods");
        Map<String, Object> pdb = find(docs, "PodDisruptionBudget", null);
        check(pdb != null && Integer.valueOf(1).equals(at(pdb, "spec/maxUnavailable")),
              "PDB maxUnavailable 1");
        check(pdb != null && labelsMatch(at(pdb, "spec/selector/matchLabels"), podLabels),
              "PDB selects the pods");
    }

    static void checkAll(Path chart, Path values) {
        List<Map<String, Object>> docs = render(chart, values);
        Map<String, Object> sts = find(docs, "StatefulSet", "ls-loyalty-stream");
        check(sts != null, "all: a StatefulSet");
        if (sts == null)
            return;
        check(at(sts, "spec/replicas") == null, "all: no replicas with the HPA");
        Map<String, Object> hpa = find(docs, "HorizontalPodAutoscaler", null);
        check(hpa != null && "StatefulSet".equals(at(hpa, "spec/scaleTargetRef/kind")) &&
                  "ls-loyalty-stream".equals(at(hpa, "spec/scaleTargetRef/name")),
              "HPA targets the StatefulSet");
        Map<String, Object> sm = find(docs, "ServiceMonitor", null);
        Map<String, Object> http = find(docs, "Service", "ls-loyalty-stream");
        Map<String, Object> headless = find(docs, "Service", "ls-loyalty-stream-headless");
        check(sm != null && "prometheus".equals(at(sm, "metadata/labels/release")),
              "ServiceMonitor with extra labels");
        check(sm != null && labelsMatch(at(sm, "spec/selector/matchLabels"), at(http, "metadata/labels")),
              "ServiceMonitor selects the HTTP Service");
        check(sm != null && !labelsMatch(at(sm, "spec/selector/matchLabels"),
                                         at(headless, "metadata/labels")),
              "ServiceMonitor does not select the headless Service (no double scrape)");
        check(sm != null && "/metrics".equals(at(sm, "spec/endpoints/0/path")), "scrapes /metrics");
        @SuppressWarnings("unchecked")
        Map<String, Object> c = (Map<String, Object>) at(sts, "spec/template/spec/containers/0");
        Map<String, Object> user = env(c, "LOYALTY_KAFKA_SASL_USERNAME");
        Map<String, Object> pass = env(c, "LOYALTY_KAFKA_SASL_PASSWORD");
        check(user != null && "kafka-creds".equals(at(user, "valueFrom/secretKeyRef/name")),
              "SASL username from the Secret");
        check(pass != null && "password".equals(at(pass, "valueFrom/secretKeyRef/key")),
              "SASL password from the Secret");
        check(env(c, "LOYALTY_LOG_LEVEL") != null, "extraEnv");
        check(at(sts, "spec/volumeClaimTemplates") == null, "no claims without persistence");
        String vols = String.valueOf(at(sts, "spec/template/spec/volumes"));
        check(vols.contains("secretName=kafka-tls"), "TLS Secret volume");
        check(vols.contains("name=retailer-program"), "program from the existing ConfigMap");
        check(find(docs, "ConfigMap", "ls-loyalty-stream-program") == null,
              "no program ConfigMap when an existing one is named");
        check(at(sts, "spec/template/spec/affinity/podAntiAffinity/" +
                          "requiredDuringSchedulingIgnoredDuringExecution") != null,
              "hard anti-affinity");
        Map<String, Object> cm = find(docs, "ConfigMap", "ls-loyalty-stream-config");
        String props = cm == null ? "" : (String) at(cm, "data/loyalty-stream.properties");
        check(props.lines().anyMatch(l -> l.equals("memory.budget.bytes=805306368")),
              "a large number stays an integer in the properties");
        check(props.lines().anyMatch(l -> l.equals("kafka.security.protocol=SASL_SSL")),
              "kafka.* passthrough");
        for (String line : List.of("http.port=8080", "http.query.bind=0.0.0.0", "http.query.port=8081",
                                   "http.query.token.file=/etc/loyalty-stream-query/token"))
            check(props.lines().anyMatch(l -> l.equals(line)), "query listener: properties line " + line);
        check("query".equals(at(c, "ports/1/name")) && Integer.valueOf(8081).equals(at(c, "ports/1/containerPort")),
              "query listener: containerPort 8081 named query");
        check("http".equals(at(c, "livenessProbe/httpGet/port")) &&
                  "http".equals(at(c, "readinessProbe/httpGet/port")),
              "probes stay on the probe port");
        check(vols.contains("secretName=query-token"), "query token Secret volume");
        check(String.valueOf(at(c, "volumeMounts")).contains("mountPath=/etc/loyalty-stream-query"),
              "query token mounted at /etc/loyalty-stream-query");
        check("query".equals(at(http, "spec/ports/1/name")) &&
                  Integer.valueOf(8081).equals(at(http, "spec/ports/1/port")),
              "the HTTP Service has the query port");
        check(sm != null && "http".equals(at(sm, "spec/endpoints/0/port")),
              "ServiceMonitor scrapes the probe port");
        check("1216Mi".equals(at(c, "resources/limits/memory")),
              "memory limit from budget 805306368: 1216Mi, got " + at(c, "resources"));
        Map<String, Object> pr = find(docs, "PrometheusRule", null);
        check(pr != null && "prometheus".equals(at(pr, "metadata/labels/release")),
              "PrometheusRule with extra labels");
        List<?> rules = pr == null ? List.of() : (List<?>) at(pr, "spec/groups/0/rules");
        check(rules.size() == 6, "six alerts");
        String rulesText = String.valueOf(rules);
        for (String a : List.of("LoyaltyStreamLagGrowing", "LoyaltyStreamTransactionsAborting",
                                "LoyaltyStreamDeadLetters", "LoyaltyStreamNotReady",
                                "LoyaltyStreamRestarting", "LoyaltyStreamDown"))
            check(rulesText.contains("alert=" + a), "alert " + a);
        check(!rulesText.contains("__SELECTOR__") &&
                  rulesText.contains("loyalty_task_lag_records{namespace=\"loyalty\",job=\"ls-loyalty-stream\"}"),
              "rules select the release's series");
        Map<String, Object> dash = find(docs, "ConfigMap", "ls-loyalty-stream-dashboard");
        Object board = dash == null ? null : new Yaml().load((String) at(dash, "data/loyalty-stream.json"));
        check(board != null && "loyalty-stream".equals(at(board, "uid")) &&
                  ((List<?>) at(board, "panels")).size() >= 10,
              "dashboard ConfigMap holds the dashboard JSON");
        check(dash != null && "1".equals(at(dash, "metadata/labels/grafana_dashboard")),
              "dashboard labelled for the sidecar");
        Map<String, Object> np = find(docs, "NetworkPolicy", null);
        check(np != null && labelsMatch(at(np, "spec/podSelector/matchLabels"),
                                        at(sts, "spec/template/metadata/labels")),
              "NetworkPolicy selects the pods");
        check(np != null && "query".equals(at(np, "spec/ingress/1/ports/0/port")) &&
                  "apps".equals(((Map<?, ?>) at(np, "spec/ingress/1/from/0/namespaceSelector/matchLabels"))
                                    .get("kubernetes.io/metadata.name")),
              "queries only from the allowed namespace");
    }

    static void checkFails(Path chart, String expect, String... sets) {
        try {
            render(chart, null, sets);
            check(false, String.join(" ", sets) + " should fail");
        } catch (RuntimeException e) {
            check(String.valueOf(e.getMessage()).contains(expect),
                  String.join(" ", sets) + " fails with '" + expect + "', got: " + e.getMessage());
        }
    }

    /* helm lint renders the defaults, which have no bootstrap.servers on purpose: lint a
     * copy whose values.yaml names one. */
    static Path lintCopy(Path chart) throws IOException {
        Path dir = Files.createTempDirectory("ls-chart");
        try (var paths = Files.walk(chart)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                Path to = dir.resolve(chart.relativize(p).toString());
                if (Files.isDirectory(p))
                    Files.createDirectories(to);
                else
                    Files.copy(p, to);
            }
        }
        Path v = dir.resolve("values.yaml");
        Files.writeString(v, Files.readString(v).replace("bootstrap.servers: \"\"",
                                                         "bootstrap.servers: kafka:9092"));
        return dir;
    }

    public static void main(String[] args) throws IOException {
        Path chart = Paths.get(args[0]);
        LintResult lint = new Helm(lintCopy(chart)).lint().strict().call();
        for (String m : lint.getMessages())
            System.out.println("lint: " + m);
        check(!lint.isFailed(), "helm lint --strict");
        checkDefaults(chart);
        checkAll(chart, Paths.get(args[1]));
        checkFails(chart, "config.state.dir is set by the chart", "config.state\\.dir=/x");
        checkFails(chart, "program.content", "program.content=");
        checkFails(chart, "podAntiAffinity must be", "podAntiAffinity=maybe");
        checkFails(chart, "minReplicas must not exceed", "autoscaling.enabled=true",
                   "autoscaling.minReplicas=9");
        checkFails(chart, "config.topic.input is required", "config.topic\\.input=");
        checkFails(chart, "config.bootstrap.servers is required", "config.bootstrap\\.servers=");
        checkFails(chart, "config.memory.budget.bytes must be a number",
                   "config.memory\\.budget\\.bytes=1GiB");
        checkFails(chart, "http.query.existingSecret is required", "http.query.enabled=true");
        checkFails(chart, "config.http.query.token.file is set by the chart",
                   "config.http\\.query\\.token\\.file=/x");
        System.out.println(failures == 0 ? "render_chart: ok" : "render_chart: " + failures + " failure(s)");
        System.exit(failures == 0 ? 0 : 1);
    }
}
