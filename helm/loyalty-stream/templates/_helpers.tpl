{{/*
Names, labels and small helpers shared by the templates.
*/}}

{{/* The chart's name, overridable with nameOverride. */}}
{{- define "loyalty-stream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified app name, at most 63 characters (a DNS label). Kept short on
purpose: StatefulSet pod names (<fullname>-<ordinal>) are the processor's instance.id and
so part of its transactional.id.
*/}}
{{- define "loyalty-stream.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "loyalty-stream.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "loyalty-stream.labels" -}}
helm.sh/chart: {{ include "loyalty-stream.chart" . }}
{{ include "loyalty-stream.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the pods (never change them on upgrade: selectors are immutable). */}}
{{- define "loyalty-stream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loyalty-stream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "loyalty-stream.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "loyalty-stream.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The container image reference. */}}
{{- define "loyalty-stream.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Name of the ConfigMap that holds the program file. */}}
{{- define "loyalty-stream.programConfigMap" -}}
{{- if .Values.program.existingConfigMap }}
{{- .Values.program.existingConfigMap }}
{{- else }}
{{- printf "%s-program" (include "loyalty-stream.fullname" .) }}
{{- end }}
{{- end }}

{{/*
One value of the properties file. Helm reads every number of values.yaml as a float64
and would print 805306368 as 8.05306368e+08; whole numbers are printed as integers.
*/}}
{{- define "loyalty-stream.propertyValue" -}}
{{- if kindIs "float64" . }}
{{- if eq (. | int64 | float64) . }}{{ . | int64 }}{{ else }}{{ . }}{{ end }}
{{- else if kindIs "invalid" . }}
{{- else }}{{ . }}{{ end }}
{{- end }}

{{/*
The pod's memory, derived from config.memory.budget.bytes (docs/OPERATIONS.md, "Memory"):
  budget                                 RocksDB's block cache and write buffers
  + 2 x queued.max.messages.kbytes KiB   the input consumer's and the restorer's prefetch
                                         (librdkafka's 65536 unless config sets
                                         kafka.queued.max.messages.kbytes)
  + budget / 4                           the restore's batches
  + 128 MiB                              code, librdkafka, HTTP, the allocator's slack
rounded up to a whole MiB. The default budget (644245094) gives 1024Mi.
*/}}
{{- define "loyalty-stream.memory" -}}
{{- $budget := include "loyalty-stream.propertyValue" (get .Values.config "memory.budget.bytes" | default 134217728) }}
{{- if not (regexMatch "^[0-9]+$" $budget) }}
{{- fail (printf "config.memory.budget.bytes must be a number of bytes (not %q) for the chart to derive the pod's memory; or set resources.requests.memory and resources.limits.memory" $budget) }}
{{- end }}
{{- $kb := include "loyalty-stream.propertyValue" (get .Values.config "kafka.queued.max.messages.kbytes" | default 65536) }}
{{- $b := $budget | int64 }}
{{- $bytes := add $b (mul 2 ($kb | int64) 1024) (div $b 4) 134217728 }}
{{- printf "%dMi" (div (add $bytes 1048575) 1048576) }}
{{- end }}

{{/* The container's resources: .Values.resources with the memory derived where unset. */}}
{{- define "loyalty-stream.resources" -}}
{{- $r := deepCopy .Values.resources }}
{{- $req := $r.requests | default dict }}
{{- $lim := $r.limits | default dict }}
{{- if not (and (hasKey $req "memory") (hasKey $lim "memory")) }}
{{- $mem := include "loyalty-stream.memory" . }}
{{- if not (hasKey $req "memory") }}{{ $_ := set $req "memory" $mem }}{{ end }}
{{- if not (hasKey $lim "memory") }}{{ $_ := set $lim "memory" $mem }}{{ end }}
{{- end }}
{{- $_ := set $r "requests" $req }}
{{- $_ := set $r "limits" $lim }}
{{- toYaml $r }}
{{- end }}

{{/* PromQL label matchers of this release's series (the rules' selector). */}}
{{- define "loyalty-stream.promSelector" -}}
{{- .Values.prometheusRule.selector | default (printf "namespace=%q,job=%q" .Release.Namespace (include "loyalty-stream.fullname" .)) }}
{{- end }}
