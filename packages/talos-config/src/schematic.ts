import { createHash } from 'node:crypto';

/** The Image Factory's public instance. */
export const IMAGE_FACTORY = 'factory.talos.dev';

/** An Image Factory schematic: the customisation of the Talos image a cluster boots and installs. */
export interface Schematic {
  readonly customization: {
    readonly systemExtensions: { readonly officialExtensions: readonly string[] };
  };
}

export function schematic(extensions: readonly string[]): Schematic {
  return { customization: { systemExtensions: { officialExtensions: [...extensions] } } };
}

/**
 * The schematic's id as the Image Factory computes it: the SHA-256 of the schematic marshalled
 * by Go's yaml.v3 (four-space indent, empty fields omitted). Extension names are plain scalars
 * (`<org>/<name>`, checked when requirements are merged), so no quoting is involved.
 */
export function schematicId(extensions: readonly string[]): string {
  const canonical =
    extensions.length === 0
      ? 'customization: {}\n'
      : `customization:\n    systemExtensions:\n        officialExtensions:\n${extensions
          .map((name) => `            - ${name}\n`)
          .join('')}`;
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Installer image of a schematic for a Talos version tag (`v1.12.11`). `secureBoot`: the signed
 * UKI installer (`installer-secureboot`), which TPM-sealed disk encryption needs: Talos seals the
 * keys to the PCR signing public key that only a signed UKI carries (v1.12
 * internal/pkg/secureboot/tpm2/seal.go reads it from `/.extra/tpm2-pcr-public-key.pem`, which
 * internal/pkg/uki BuildSigned adds).
 */
export function installerImage(id: string, talosTag: string, secureBoot = false): string {
  return `${IMAGE_FACTORY}/${secureBoot ? 'installer-secureboot' : 'installer'}/${id}:${talosTag}`;
}

/** The Image Factory's ISO of a schematic (amd64); `secureBoot`: the SecureBoot ISO. */
export function isoImage(id: string, talosTag: string, secureBoot = false): string {
  return `https://${IMAGE_FACTORY}/image/${id}/${talosTag}/metal-amd64${secureBoot ? '-secureboot' : ''}.iso`;
}
