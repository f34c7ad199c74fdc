{{/* Names: the release name, then the part (bot, worker). */}}
{{- define "farmflow.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "farmflow.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one part: include with (dict "root" $ "part" "bot"). */}}
{{- define "farmflow.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .part }}
{{- end -}}

{{- define "farmflow.image" -}}
{{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end -}}

{{- define "farmflow.sharedClaim" -}}
{{- .Values.sharedFiles.existingClaim | default (printf "%s-shared" (include "farmflow.fullname" .)) -}}
{{- end -}}

{{/* One secret key as an environment variable: (dict "root" $ "key" "REDIS_URL" "optional" false). */}}
{{- define "farmflow.secretEnv" -}}
- name: {{ .key }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.secret.name }}
      key: {{ .key }}
      optional: {{ .optional }}
{{- end -}}

{{/* What both processes share: where Temporal, Redis and the shared files are, and the config. */}}
{{- define "farmflow.commonEnv" -}}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: DATA_DIR
  value: /app/data
- name: SHARED_FILES_DIR
  value: /app/shared
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{ include "farmflow.secretEnv" (dict "root" . "key" "REDIS_URL" "optional" false) }}
{{ include "farmflow.secretEnv" (dict "root" . "key" "USER_HASH_SECRET" "optional" false) }}
{{- end -}}

{{/* Writable folders under a read-only root: data, /tmp (report drawings, tsx's cache), shared files. */}}
{{- define "farmflow.volumeMounts" -}}
- name: data
  mountPath: /app/data
- name: tmp
  mountPath: /tmp
- name: shared
  mountPath: /app/shared
{{- end -}}

{{- define "farmflow.volumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
- name: shared
  persistentVolumeClaim:
    claimName: {{ include "farmflow.sharedClaim" . }}
{{- end -}}
