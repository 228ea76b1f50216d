// Small C helpers over libvpx for package vpx. libvpx's init and control
// entry points are macros and variadic functions that cgo cannot call, and
// doing a whole encode or decode step in one C call keeps the Go side free
// of pointers to Go locals (which would escape and allocate).
//
// All state lives in C memory (malloc): libvpx keeps pointers into the
// context and the encoder configuration, so neither may be Go memory.
#ifndef MCU_VPX_H
#define MCU_VPX_H

#include <stddef.h>
#include <stdint.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_err_t init_err;
	// Set by mcu_vpx_dec_decode: the picture (or NULL) and whether libvpx
	// reports it as corrupted (a reference was missing or broken).
	const vpx_image_t *img;
	int corrupted;
} mcu_vpx_dec;

mcu_vpx_dec *mcu_vpx_dec_new(unsigned int threads);
vpx_codec_err_t mcu_vpx_dec_decode(mcu_vpx_dec *d, const uint8_t *data, size_t len);
const char *mcu_vpx_dec_error(mcu_vpx_dec *d);
void mcu_vpx_dec_free(mcu_vpx_dec *d);

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg; // libvpx keeps a pointer to it
	vpx_image_t img;         // plane pointers set only during an encode call
	vpx_codec_pts_t pts;
	vpx_codec_err_t init_err;
	// Set by mcu_vpx_enc_encode: the first frame packet (valid until the
	// next encode), whether it is a keyframe, and how many frame packets
	// the call produced (always 0 or 1 with lag 0).
	const void *out;
	size_t out_len;
	int out_key;
	int out_pkts;
} mcu_vpx_enc;

typedef struct {
	unsigned int width, height, fps, kbps, threads;
	int cpu_used;
	unsigned int kf_max_dist;
	unsigned int max_intra_pct;
} mcu_vpx_enc_params;

mcu_vpx_enc *mcu_vpx_enc_new(mcu_vpx_enc_params p);
vpx_codec_err_t mcu_vpx_enc_encode(mcu_vpx_enc *e, uint8_t *y, int sy, uint8_t *u, int su,
                                   uint8_t *v, int sv, int force_kf);
vpx_codec_err_t mcu_vpx_enc_set_active_map(mcu_vpx_enc *e, unsigned char *map, unsigned int rows,
                                           unsigned int cols);
vpx_codec_err_t mcu_vpx_enc_set_kbps(mcu_vpx_enc *e, unsigned int kbps);
const char *mcu_vpx_enc_error(mcu_vpx_enc *e);
void mcu_vpx_enc_free(mcu_vpx_enc *e);

#endif
