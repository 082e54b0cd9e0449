{{- define "taxiway.name" -}}{{ .Chart.Name }}{{- end -}}

{{- define "taxiway.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "taxiway.labels" -}}
app.kubernetes.io/name: {{ include "taxiway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "taxiway.selector" -}}
app.kubernetes.io/name: {{ include "taxiway.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "taxiway.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}

{{- define "taxiway.databaseSecret" -}}{{ .Values.database.existingSecret | default (printf "%s-database" (include "taxiway.fullname" .)) }}{{- end -}}

{{- define "taxiway.databaseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "taxiway.databaseSecret" . }}
      key: {{ if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}DATABASE_URL{{ end }}
{{- end -}}

{{- define "taxiway.validate" -}}
{{- if and (not .Values.database.url) (not .Values.database.existingSecret) -}}
{{- fail "set database.url or database.existingSecret: Taxiway on Kubernetes needs an external PostgreSQL" -}}
{{- end -}}
{{- end -}}
