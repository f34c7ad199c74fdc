/**
 * helm and kubeconform, built from Go modules once per machine (dev/go-build.ts), for rendering
 * the chart under deploy/kubernetes and validating what it renders offline (validate.ts).
 * HELM_PATH and KUBECONFORM_PATH name existing binaries instead.
 */
import { ensureGoTool, type GoBuild } from '../go-build';

export const HELM_VERSION = 'v3.22.0';
export const KUBECONFORM_VERSION = 'v0.8.0';

export const HELM_BUILD = {
  what: `helm ${HELM_VERSION}`,
  packages: [`helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`],
  binaries: ['helm'],
  cacheFolder: `helm/${HELM_VERSION}`,
  minGo: [1, 26],
  duration: 'about 3 minutes on 2 cores',
  instead: 'point HELM_PATH at a helm 3',
} as const satisfies GoBuild;

export const KUBECONFORM_BUILD = {
  what: `kubeconform ${KUBECONFORM_VERSION}`,
  packages: [`github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}`],
  binaries: ['kubeconform'],
  cacheFolder: `kubeconform/${KUBECONFORM_VERSION}`,
  minGo: [1, 26],
  duration: 'under a minute',
  instead: 'point KUBECONFORM_PATH at a kubeconform',
} as const satisfies GoBuild;

export const ensureHelm = (say: (line: string) => void) =>
  ensureGoTool(HELM_BUILD, 'HELM_PATH', say);
export const ensureKubeconform = (say: (line: string) => void) =>
  ensureGoTool(KUBECONFORM_BUILD, 'KUBECONFORM_PATH', say);
