{{/* Pieces shared by the Ray head and GPU worker pods of the RayService. */}}

{{/* Ray's image runs as its own user (uid 1000, group users 100); so do the pods around it. */}}
{{- define "airlock.rayIds" -}}
{{- dict "uid" 1000 "gid" 100 | toJson -}}
{{- end -}}

{{/*
The model checksum gate: `airlock models verify <id>` against the read-only mount, as Ray's
user (what it can read, vLLM can read). A changed or missing file exits 1 and the pod never
starts Ray, so vLLM never loads weights that differ from their manifest.
*/}}
{{- define "airlock.verifyModelInitContainer" -}}
{{- $llm := include "airlock.llmConfig" . | fromJson -}}
- name: verify-model
  image: {{ include "airlock.image" (dict "root" . "image" .Values.image) }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["models", "verify", {{ $llm.model_loading_config.model_id | quote }}]
  env:
    - name: AIRLOCK__MODELS__STORE_DIR
      value: {{ .Values.llm.modelStore.mountPath | quote }}
    - name: AIRLOCK__DATA_DIR
      value: /tmp/airlock
  resources:
    {{- toYaml .Values.llm.verifyResources | nindent 4 }}
  securityContext:
    {{- include "airlock.containerSecurityContext" (include "airlock.rayIds" . | fromJson) | nindent 4 }}
  volumeMounts:
    - name: models
      mountPath: {{ .Values.llm.modelStore.mountPath }}
      readOnly: true
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/* Environment of Ray and vLLM: the offline switches, and caches under the writable /tmp. */}}
{{- define "airlock.rayEnv" -}}
{{ include "airlock.offlineEnv" . }}
- name: XDG_CACHE_HOME
  value: /tmp/.cache
- name: HF_HOME
  value: /tmp/.cache/huggingface
- name: VLLM_CACHE_ROOT
  value: /tmp/.cache/vllm
- name: VLLM_CONFIG_ROOT
  value: /tmp/.config/vllm
- name: TRITON_CACHE_DIR
  value: /tmp/.triton
- name: TORCHINDUCTOR_CACHE_DIR
  value: /tmp/.cache/torchinductor
{{- end -}}

{{- define "airlock.rayVolumes" -}}
- name: models
  persistentVolumeClaim:
    claimName: {{ .root.Values.llm.modelStore.existingClaim }}
    readOnly: true
- name: tmp
  emptyDir: {}
- name: shm
  emptyDir:
    medium: Memory
    sizeLimit: {{ .shmSize }}
{{- end -}}

{{- define "airlock.rayVolumeMounts" -}}
- name: models
  mountPath: {{ .Values.llm.modelStore.mountPath }}
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: shm
  mountPath: /dev/shm
{{- end -}}

{{/* The pod-level settings of a Ray pod; call with (dict "root" $ "nodeSelector" ... "tolerations" ...). */}}
{{- define "airlock.rayPodSettings" -}}
{{- if .autoscalerHead }}
# The in-tree autoscaler runs beside Ray in this pod and scales the GPU workers through the
# Kubernetes API: KubeRay gives the pod its own ServiceAccount bound to a Role for exactly that.
automountServiceAccountToken: true
{{- else }}
serviceAccountName: {{ include "airlock.serviceAccountName" .root }}
automountServiceAccountToken: false
{{- end }}
{{- include "airlock.imagePullSecrets" .root }}
securityContext:
  {{- include "airlock.podSecurityContext" (include "airlock.rayIds" .root | fromJson) | nindent 2 }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
