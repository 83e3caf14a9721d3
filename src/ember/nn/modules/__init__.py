"""The layers of ember.nn, one module file per family (as torch.nn.modules)."""
from .module import Module
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .linear import Bilinear, Identity, Linear
from .activation import (CELU, ELU, GELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU,
                         LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax,
                         Softmin, Softplus, Softsign, Tanh, Tanhshrink, Threshold)
from .dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d
from .flatten import Flatten, Unflatten
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, NLLLoss, SmoothL1Loss)
from .conv import Conv1d, Conv2d
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
                      AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d)
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d, SyncBatchNorm
from .normalization import LayerNorm
from .sparse import Embedding
# attention and transformer layers (issue 10, attention part)
from .multihead_attention import MultiheadAttention
from .normalization_rms import RMSNorm
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)

# ---- recurrent layers (rnn helper) ----
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
# ---- vision layers (vlayers): transposed conv, padding, upsampling, norms, losses ----
from .conv import ConvTranspose1d, ConvTranspose2d
from .padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d,
                      ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
                      ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d,
                      ZeroPad3d)
from .pixelshuffle import PixelShuffle, PixelUnshuffle
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .normalization import GroupNorm, LocalResponseNorm
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .activation import Hardshrink, RReLU, Softmax2d, Softshrink
from .distance import CosineSimilarity, PairwiseDistance
from .fold import Fold, Unfold
from .pooling import LPPool1d, LPPool2d, MaxUnpool1d, MaxUnpool2d
from .loss_more import (CosineEmbeddingLoss, CTCLoss, GaussianNLLLoss, HingeEmbeddingLoss,
                        MarginRankingLoss, MultiLabelSoftMarginLoss, MultiMarginLoss,
                        PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss,
                        TripletMarginWithDistanceLoss)
# ---- 3-d convolution and pooling (apigaps) ----
from .conv import Conv3d, ConvTranspose3d
from .pooling import AvgPool3d, MaxPool3d

# ---- breadth: embedding bags, channel shuffle, more losses, lazy layers ----
from .embedding_bag import EmbeddingBag
from .channelshuffle import ChannelShuffle
from .loss_multilabel import MultiLabelMarginLoss
# the lazy layers (UninitializedParameter semantics, as torch's)
from .lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d,
                   LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d,
                   LazyConvTranspose2d, LazyConvTranspose3d,
                   LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear,
                   LazyModuleMixin)
