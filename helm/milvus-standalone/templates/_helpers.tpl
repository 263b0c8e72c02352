{{/* Names, labels and the image of the Milvus standalone chart. */}}

{{- define "milvus-standalone.fullname" -}}
{{- printf "%s-milvus-standalone" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "milvus-standalone.selectorLabels" -}}
app.kubernetes.io/name: milvus-standalone
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "milvus-standalone.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "milvus-standalone.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* global.imageRegistry replaces the registry; a digest pins the image. */}}
{{- define "milvus-standalone.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry -}}
{{- $repository := .Values.image.repository -}}
{{- if $registry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "milvus-standalone.claimName" -}}
{{- default (printf "%s-data" (include "milvus-standalone.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}
