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
