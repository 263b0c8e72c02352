{{/* Names, labels, images, security contexts and the offline environment of the chart. */}}

{{- define "airlock.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<chart>", or the release name alone when it already contains the chart name. */}}
{{- define "airlock.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "airlock.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "airlock.selectorLabels" -}}
app.kubernetes.io/name: {{ include "airlock.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "airlock.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "airlock.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of one component; call with (dict "root" $ "component" "api"). */}}
{{- define "airlock.componentLabels" -}}
{{ include "airlock.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "airlock.componentSelector" -}}
{{ include "airlock.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "airlock.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "airlock.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
An image reference; call with (dict "root" $ "image" .Values.image).
global.imageRegistry replaces the image's registry; a digest pins the image (repo@digest).
*/}}
{{- define "airlock.image" -}}
{{- $registry := default .image.registry .root.Values.global.imageRegistry -}}
{{- $repository := .image.repository -}}
{{- if $registry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" $registry) .image.repository -}}
{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion .image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "airlock.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod security context of our own pods: a fixed non-root user, RuntimeDefault seccomp. */}}
{{- define "airlock.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .gid | default 10001 }}
fsGroup: {{ .gid | default 10001 }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container security context: nothing writable but mounted volumes, no privileges at all. */}}
{{- define "airlock.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .gid | default 10001 }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
The air-gap switches of airlock/offline.py, for processes Airlock does not start itself (Ray,
vLLM, kcadm): the same names and values, so that nothing phones home.
*/}}
{{- define "airlock.offlineEnv" -}}
- name: HF_HUB_OFFLINE
  value: "1"
- name: TRANSFORMERS_OFFLINE
  value: "1"
- name: HF_DATASETS_OFFLINE
  value: "1"
- name: HF_HUB_DISABLE_TELEMETRY
  value: "1"
- name: HF_HUB_DISABLE_IMPLICIT_TOKEN
  value: "1"
- name: HF_HUB_DISABLE_UPDATE_CHECK
  value: "1"
- name: RAY_USAGE_STATS_ENABLED
  value: "0"
- name: RAY_USAGE_STATS_PROMPT_ENABLED
  value: "0"
- name: VLLM_NO_USAGE_STATS
  value: "1"
- name: VLLM_DO_NOT_TRACK
  value: "1"
- name: DO_NOT_TRACK
  value: "1"
- name: OPENAI_API_KEY
  value: ""
- name: OPENAI_BASE_URL
  value: "http://127.0.0.1:9/airlock-offline"
{{- end -}}

{{/* The Milvus URL Airlock uses: the subchart's Service or the external server. */}}
{{- define "airlock.milvusUri" -}}
{{- if .Values.milvus.enabled -}}
{{- printf "http://%s-milvus-standalone.%s.svc.%s:19530" .Release.Name .Release.Namespace .Values.clusterDomain -}}
{{- else -}}
{{- .Values.externalMilvus.uri -}}
{{- end -}}
{{- end -}}

{{/* The Ray Serve config parsed; fails with the remedy when llm.enabled and it is missing. */}}
{{- define "airlock.serveConfig" -}}
{{- if not .Values.llm.serveConfig -}}
{{- fail "llm.enabled is true but llm.serveConfig is empty: write it with `AIRLOCK__SERVING__CLUSTER__MODEL_ROOT=<llm.modelStore.mountPath> airlock serving config --model ID --out serve.yaml` and pass `--set-file llm.serveConfig=serve.yaml`" -}}
{{- end -}}
{{- $config := fromYaml .Values.llm.serveConfig -}}
{{- if or (hasKey $config "Error") (not (kindIs "slice" $config.applications)) -}}
{{- fail "llm.serveConfig is not a Ray Serve config (no `applications:` list): give the file `airlock serving config` wrote" -}}
{{- end -}}
{{- $config | toJson -}}
{{- end -}}

{{/* The one llm_config of the serve config, with the model checked against the mount path. */}}
{{- define "airlock.llmConfig" -}}
{{- $config := include "airlock.serveConfig" . | fromJson -}}
{{- $app := index $config.applications 0 -}}
{{- $llm := index $app.args.llm_configs 0 -}}
{{- $loading := $llm.model_loading_config -}}
{{- $expected := printf "%s/%s" (trimSuffix "/" .Values.llm.modelStore.mountPath) $loading.model_id -}}
{{- if ne $loading.model_source $expected -}}
{{- fail (printf "llm.serveConfig loads %s but the model store is mounted at %s: regenerate it with AIRLOCK__SERVING__CLUSTER__MODEL_ROOT=%s" $loading.model_source .Values.llm.modelStore.mountPath .Values.llm.modelStore.mountPath) -}}
{{- end -}}
{{- $llm | toJson -}}
{{- end -}}

{{/* The engine chain Airlock uses: vLLM behind Ray Serve (or an external endpoint), then extractive. */}}
{{- define "airlock.engines" -}}
{{- $engines := list -}}
{{- if .Values.llm.enabled -}}
{{- $llm := include "airlock.llmConfig" . | fromJson -}}
{{- $url := printf "http://%s-llm-serve-svc.%s.svc.%s:8000/v1" (include "airlock.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- $engines = append $engines (dict "name" "vllm" "kind" "openai" "base_url" $url "model" (default $llm.model_loading_config.model_id .Values.llm.servedModel)) -}}
{{- else if .Values.llm.external.baseUrl -}}
{{- $engines = append $engines (dict "name" "vllm" "kind" "openai" "base_url" .Values.llm.external.baseUrl "model" .Values.llm.external.model) -}}
{{- end -}}
{{- if or (not $engines) .Values.llm.extractiveFallback -}}
{{- $engines = append $engines (dict "name" "extractive" "kind" "extractive") -}}
{{- end -}}
{{- $engines | toJson -}}
{{- end -}}

{{/* Volumes every Airlock container needs: config, secret files, writable scratch. */}}
{{- define "airlock.volumes" -}}
- name: config
  configMap:
    name: {{ include "airlock.fullname" . }}-config
- name: secrets
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ .Values.postgresql.existingSecret }}
          items:
            - key: {{ .Values.postgresql.passwordKey }}
              path: storage__password
      {{- if and (not .Values.milvus.enabled) .Values.externalMilvus.existingSecret }}
      - secret:
          name: {{ .Values.externalMilvus.existingSecret }}
          items:
            - key: {{ .Values.externalMilvus.tokenKey }}
              path: rag__token
      {{- end }}
      {{- with .Values.keycloak.introspection.existingSecret }}
      - secret:
          name: {{ . }}
          items:
            - key: {{ $.Values.keycloak.introspection.clientSecretKey }}
              path: auth__introspection_client_secret
      {{- end }}
- name: audit-key
  secret:
    secretName: {{ .Values.airlock.auditSigningKey.existingSecret }}
    defaultMode: 0400
    items:
      - key: {{ .Values.airlock.auditSigningKey.key }}
        path: signing-key.pem
- name: data
  emptyDir:
    sizeLimit: 1Gi
- name: tmp
  emptyDir:
    sizeLimit: 1Gi
{{- end -}}

{{- define "airlock.volumeMounts" -}}
- name: config
  mountPath: /etc/airlock
  readOnly: true
- name: secrets
  mountPath: /run/secrets/airlock
  readOnly: true
- name: audit-key
  mountPath: /run/secrets/airlock-audit
  readOnly: true
- name: data
  mountPath: /var/lib/airlock
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "airlock.env" -}}
- name: AIRLOCK_CONFIG
  value: /etc/airlock/airlock.yaml
- name: AIRLOCK_SECRETS_DIR
  value: /run/secrets/airlock
{{- with .Values.airlock.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
checkov suppressions for a workload's image, each with its reason; call with (dict "image" ...).
CKV_K8S_43 is suppressed only while no digest is set: with image.digest the check runs.
*/}}
{{- define "airlock.checkovImageSkips" -}}
checkov.io/skip1: CKV_K8S_15=IfNotPresent by design - air-gapped nodes pull once from the private mirror
{{- if not .image.digest }}
checkov.io/skip2: CKV_K8S_43=the digest is the value image.digest - set it from the offline bundle images.json
{{- end }}
{{- end -}}
